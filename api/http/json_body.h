#ifndef CLOUDLET_API_HTTP_JSON_BODY_H_
#define CLOUDLET_API_HTTP_JSON_BODY_H_

#include <google/protobuf/message.h>
#include <httplib.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cloudlet::api {

// `message` through protobuf's JSON mapping as the API writes it: proto
// field names, defaults included, one line.
std::string MessageJson(const google::protobuf::Message& message);

// Sets `response` to `message` as JSON with `status`.
void SetMessageResponse(const google::protobuf::Message& message, int status,
                        httplib::Response& response);

// Parses a request body into `message`, strictly (unknown fields refused);
// an empty body leaves it as is. InvalidArgument naming what is wrong.
absl::Status ParseJsonBody(absl::string_view body,
                           google::protobuf::Message* message);

// An SSE frame `event: <name>` whose data is `message` as JSON.
std::string SseMessageFrame(absl::string_view name,
                            const google::protobuf::Message& message);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_HTTP_JSON_BODY_H_
