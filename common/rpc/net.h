#ifndef CLOUDLET_COMMON_RPC_NET_H_
#define CLOUDLET_COMMON_RPC_NET_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cloudlet {

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it
// for a socket that is then closed). Another process may take it before the
// caller binds, so callers that hand it to someone else retry on a bind
// failure.
absl::StatusOr<uint16_t> PickFreeLoopbackPort();

// "HOST:PORT" (HOST may be a bracketed IPv6 address) -> `host` and `port`;
// false when there is no host, no port, or a port outside 0-65535.
bool SplitHostPort(absl::string_view text, std::string* host, int* port);

// True for a host only this machine reaches: 127.0.0.0/8, ::1 (with or
// without brackets) and "localhost".
bool IsLoopbackHost(absl::string_view host);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_RPC_NET_H_
