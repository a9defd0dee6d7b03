#ifndef CLOUDLET_API_REQUEST_LEGACY_REQUEST_H_
#define CLOUDLET_API_REQUEST_LEGACY_REQUEST_H_

#include <google/protobuf/struct.pb.h>

#include "absl/status/statusor.h"
#include "vmm.pb.h"

namespace cloudlet::api {

// Cloudlet's original POST /run body, which its CLI sends:
//   {"workload_name": "fibonacci", "language": "rust", "code": "fn main...",
//    "log_level": "info", "action": "prepare-and-run",
//    "server": {"address": "localhost", "port": 50051},
//    "build": {"source-code-path": "main.rs", "release": true}}
// `code` is the source as plain text. `server.port` becomes the agent's port
// in the guest (VmConfig.agent_port), as in Cloudlet; `server.address`,
// `log_level` and `build.source-code-path` are accepted and not used (the
// API never reads files named by a client).

// True when the top-level keys of `body` are Cloudlet's rather than
// RunRequest's (`workload`, `vm`).
bool IsLegacyBody(const google::protobuf::Struct& body);

// Converts a Cloudlet body. InvalidArgument naming the key for a missing
// `language` or `code`, a value of the wrong type or out of range, or a key
// Cloudlet never sent.
absl::StatusOr<v1::RunRequest> FromLegacyBody(
    const google::protobuf::Struct& body);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_REQUEST_LEGACY_REQUEST_H_
