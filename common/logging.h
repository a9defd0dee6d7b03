#ifndef CLOUDLET_COMMON_LOGGING_H_
#define CLOUDLET_COMMON_LOGGING_H_


#include "absl/strings/string_view.h"
#include "absl/status/status.h"

namespace cloudlet {

// Makes spdlog's default logger the binary's one logger: stderr, one line
// per event, `2026-11-23T09:30:00.123 info cloudlet-vmm: run=7f3a stage=boot`.
// Call once from main() before any thread starts. InvalidArgument for an
// unknown level (trace, debug, info, warn, error, off).
absl::Status InitLogging(absl::string_view binary_name, absl::string_view level);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_LOGGING_H_
