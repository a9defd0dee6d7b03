#include "api/http/http_errors.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace cloudlet::api {

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
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

namespace {

// `text` as a JSON string literal, escaped by protobuf's JSON printer.
std::string JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(std::string(text));
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(value, &json).ok()) {
    return "\"(not printable)\"";
  }
  return json;
}

}  // namespace

std::string ErrorJson(absl::string_view code, absl::string_view message) {
  // Assembled by hand around escaped values (not a Struct, whose map order
  // varies from process to process) so that "code" always comes first.
  return absl::StrCat("{\"code\":", JsonString(code),
                      ",\"message\":", JsonString(message), "}");
}

std::string ErrorJson(const absl::Status& status) {
  return ErrorJson(absl::StatusCodeToString(status.code()), status.message());
}

}  // namespace cloudlet::api
