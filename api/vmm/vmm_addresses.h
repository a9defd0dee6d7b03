#ifndef CLOUDLET_API_VMM_VMM_ADDRESSES_H_
#define CLOUDLET_API_VMM_VMM_ADDRESSES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cloudlet::api {

// One VMM of a gRPC target.
struct VmmAddress {
  std::string display;  // "127.0.0.1:50061", "[::1]:50061", "unix:/run/v.sock"
  std::string target;   // a gRPC target naming this VMM alone
  bool operator==(const VmmAddress&) const = default;
};

// What a --vmm_target names, before any DNS lookup.
struct VmmTargetParts {
  // Set for a name to look up (dns:///NAME:PORT, dns://AUTH/NAME:PORT or
  // NAME:PORT without a scheme): every address it resolves to is a VMM.
  std::string host;
  std::string port;
  // Set instead for a literal list (ipv4:, ipv6:) or a socket (unix:).
  std::vector<VmmAddress> addresses;
};

// InvalidArgument for a target with no address or no host.
absl::StatusOr<VmmTargetParts> ParseVmmTarget(absl::string_view target);

// Every VMM `target` names now, as gRPC's round_robin sees them: literal
// lists as they are, names through the system resolver (so /healthz shows
// each pod behind a headless Service). Unavailable when a name does not
// resolve.
absl::StatusOr<std::vector<VmmAddress>> ResolveVmmAddresses(
    absl::string_view target);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_VMM_VMM_ADDRESSES_H_
