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

// Any JSON object parses as a Struct; that tells malformed JSON apart from
// a well-formed body of the wrong shape, and which shape it is.
absl::StatusOr<google::protobuf::Struct> ParseTree(absl::string_view body) {
  // A run request nests three levels deep; protobuf's Struct parsing below
  // slows down quadratically with nesting, so hostile bodies stop here.
  if (int depth = JsonNestingDepth(body); depth > kMaxJsonDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request body is nested ", depth, " levels deep; at most ",
        kMaxJsonDepth, " are accepted"));
  }
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  google::protobuf::Struct tree;
  google::protobuf::util::Status parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &tree, strict);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request body is not a JSON object: ", MessageOf(parsed)));
  }
  return tree;
}

// `tree` is `body` parsed.
absl::StatusOr<v1::RunRequest> FromTree(const google::protobuf::Struct& tree,
                                        absl::string_view body) {
  if (IsLegacyBody(tree)) return FromLegacyBody(tree);
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  v1::RunRequest request;
  google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(
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

}  // namespace

absl::StatusOr<v1::RunRequest> DecodeRunRequest(absl::string_view body) {
  absl::StatusOr<google::protobuf::Struct> tree = ParseTree(body);
  if (!tree.ok()) return tree.status();
  return FromTree(*tree, body);
}

absl::StatusOr<DeployRequest> DecodeDeployRequest(absl::string_view body) {
  absl::StatusOr<google::protobuf::Struct> tree = ParseTree(body);
  if (!tree.ok()) return tree.status();
  DeployRequest deploy;
  auto& fields = *tree->mutable_fields();
  if (auto name = fields.find("name"); name != fields.end()) {
    if (name->second.kind_case() != google::protobuf::Value::kStringValue) {
      return absl::InvalidArgumentError("name: must be a string");
    }
    deploy.name = name->second.string_value();
    fields.erase(name);
  }
  std::string rest;  // the body without "name"
  if (!google::protobuf::util::MessageToJsonString(*tree, &rest).ok()) {
    return absl::InvalidArgumentError("request body cannot be read");
  }
  absl::StatusOr<v1::RunRequest> run = FromTree(*tree, rest);
  if (!run.ok()) return run.status();
  deploy.run = *std::move(run);
  if (deploy.name.empty()) deploy.name = deploy.run.workload().name();
  if (deploy.name.empty()) {
    return absl::InvalidArgumentError(
        "name: required: the function's name (a-z, 0-9, '-')");
  }
  return deploy;
}

}  // namespace cloudlet::api
