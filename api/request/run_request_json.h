#ifndef CLOUDLET_API_REQUEST_RUN_REQUEST_JSON_H_
#define CLOUDLET_API_REQUEST_RUN_REQUEST_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vmm.pb.h"

namespace cloudlet::api {

// Decodes the body of POST /run. Two shapes are accepted:
//  - the RunRequest message through protobuf's JSON mapping, unknown fields
//    rejected: {"workload": {"language": "PYTHON", "code": "<base64>"}};
//  - Cloudlet's original body (see legacy_request.h), recognised by its
//    top-level keys (`workload_name`, `code`, ...).
// InvalidArgument with a message naming the offending field for malformed
// JSON, unknown fields, bad values, or a body without a workload. Values the
// VMM checks (sizes, limits) are left to it.
absl::StatusOr<v1::RunRequest> DecodeRunRequest(absl::string_view body);

// The body of POST /functions: a /run body (either shape) plus "name" (else
// the workload's name).
struct DeployRequest {
  std::string name;
  v1::RunRequest run;
};
absl::StatusOr<DeployRequest> DecodeDeployRequest(absl::string_view body);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_REQUEST_RUN_REQUEST_JSON_H_
