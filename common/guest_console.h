#ifndef CLOUDLET_COMMON_GUEST_CONSOLE_H_
#define CLOUDLET_COMMON_GUEST_CONSOLE_H_

#include "absl/strings/string_view.h"

namespace cloudlet {

// The start of the line "cloudlet-agent: serving on port N", which the agent
// prints on the guest's console, whatever its log level, once its gRPC
// server listens; the VMM waits for it (vmm/agent_ready.h, docs/guest.md).
inline constexpr absl::string_view kAgentServingLine =
    "cloudlet-agent: serving on port ";

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_GUEST_CONSOLE_H_
