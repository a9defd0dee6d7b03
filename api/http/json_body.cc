#include "api/http/json_body.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace cloudlet::api {

std::string MessageJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return "{}";
  }
  return json;
}

void SetMessageResponse(const google::protobuf::Message& message, int status,
                        httplib::Response& response) {
  response.status = status;
  response.set_content(MessageJson(message) + "\n", "application/json");
}

absl::Status ParseJsonBody(absl::string_view body,
                           google::protobuf::Message* message) {
  if (body.find_first_not_of(" \t\r\n") == absl::string_view::npos) {
    return absl::OkStatus();
  }
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(body.data(), body.size()), message,
          strict);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request body: ", absl::string_view(parsed.message().data(),
                                            parsed.message().size())));
  }
  return absl::OkStatus();
}

std::string SseMessageFrame(absl::string_view name,
                            const google::protobuf::Message& message) {
  return absl::StrCat("event: ", name, "\ndata: ", MessageJson(message),
                      "\n\n");
}

}  // namespace cloudlet::api
