// libFuzzer target: the API's JSON ingress (RunRequest JSON and Cloudlet's
// legacy body) must turn any body into a request or an InvalidArgument
// status; never crash, hang or throw.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "api/request/run_request_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<cloudlet::v1::RunRequest> request =
      cloudlet::api::DecodeRunRequest(body);
  if (!request.ok() &&
      request.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();  // the contract: every error is InvalidArgument
  }
  return 0;
}
