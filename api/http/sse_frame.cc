#include "api/http/sse_frame.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "api/http/http_errors.h"

namespace cloudlet::api {

absl::StatusOr<std::string> SseEventName(const v1::RunEvent& event) {
  const google::protobuf::OneofDescriptor* oneof =
      v1::RunEvent::descriptor()->FindOneofByName("event");
  const google::protobuf::FieldDescriptor* field =
      v1::RunEvent::GetReflection()->GetOneofFieldDescriptor(event, oneof);
  if (field == nullptr) {
    return absl::InvalidArgumentError("RunEvent has no event set");
  }
  return field->name();
}

absl::StatusOr<std::string> RunEventJson(const v1::RunEvent& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = false;  // one line: SSE data may not hold newlines
  std::string json;
  google::protobuf::util::Status printed =
      google::protobuf::util::MessageToJsonString(event, &json, options);
  if (!printed.ok()) {
    return absl::InternalError(absl::StrCat(
        "RunEvent to JSON: ",
        absl::string_view(printed.message().data(), printed.message().size())));
  }
  return json;
}

absl::StatusOr<std::string> SseFrame(const v1::RunEvent& event) {
  absl::StatusOr<std::string> name = SseEventName(event);
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> json = RunEventJson(event);
  if (!json.ok()) return json.status();
  return absl::StrCat("event: ", *name, "\ndata: ", *json, "\n\n");
}

std::string SseErrorFrame(const absl::Status& status) {
  return absl::StrCat("event: error\ndata: ", ErrorJson(status), "\n\n");
}

std::string SseComment(absl::string_view text) {
  return absl::StrCat(": ", text, "\n\n");
}

}  // namespace cloudlet::api
