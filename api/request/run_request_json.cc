#include "api/request/run_request_json.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "api/request/json_depth.h"
#include "api/request/legacy_request.h"

namespace cloudlet::api {
namespace {

// Far more than any request needs (a RunRequest nests 3 levels).
constexpr int kMaxJsonDepth = 32;

std::string MessageOf(const google::protobuf::util::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

}  // namespace

absl::StatusOr<v1::RunRequest> DecodeRunRequest(absl::string_view body) {
  // A run request nests three levels deep; protobuf's Struct parsing below
  // slows down quadratically with nesting, so hostile bodies stop here.
  if (int depth = JsonNestingDepth(body); depth > kMaxJsonDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request body is nested ", depth, " levels deep; at most ",
        kMaxJsonDepth, " are accepted"));
  }
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;

  // Any JSON object parses as a Struct; that tells malformed JSON apart from
  // a well-formed body of the wrong shape, and which shape it is.
  google::protobuf::Struct tree;
  google::protobuf::util::Status parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &tree, strict);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request body is not a JSON object: ", MessageOf(parsed)));
  }
  if (IsLegacyBody(tree)) return FromLegacyBody(tree);

  v1::RunRequest request;
  parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &request,
      strict);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body: ", MessageOf(parsed)));
  }
  if (!request.has_workload()) {
    return absl::InvalidArgumentError(
        "workload: required field is missing (e.g. {\"workload\": "
        "{\"language\": \"PYTHON\", \"code\": \"<base64>\"}})");
  }
  return request;
}

}  // namespace cloudlet::api
