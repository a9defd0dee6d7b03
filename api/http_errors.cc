#include "api/http_errors.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

namespace cloudlet::api {

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnimplemented:
      return 405;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
      return 503;
    default:
      return 500;
  }
}

std::string ErrorJson(absl::string_view code, absl::string_view message) {
  // Built through protobuf's JSON printer so that any bytes in the message
  // come out correctly escaped.
  google::protobuf::Struct body;
  (*body.mutable_fields())["code"].set_string_value(std::string(code));
  (*body.mutable_fields())["message"].set_string_value(std::string(message));
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(body, &json).ok()) {
    return R"({"code":"INTERNAL","message":"error body not printable"})";
  }
  return json;
}

std::string ErrorJson(const absl::Status& status) {
  return ErrorJson(absl::StatusCodeToString(status.code()), status.message());
}

}  // namespace cloudlet::api
