#include "api/request/legacy_request.h"

#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/workload_names.h"

namespace cloudlet::api {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kTopLevelKeys[] = {
    "workload_name", "language", "code",  "log_level",
    "action",        "server",   "build"};

absl::Status UnknownKey(absl::string_view where, absl::string_view key,
                        absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      where, key, ": unknown field; expected one of ", expected));
}

absl::Status WrongType(absl::string_view key, absl::string_view type) {
  return absl::InvalidArgumentError(
      absl::StrCat(key, ": must be ", type));
}

absl::StatusOr<std::string> StringField(const Value& value,
                                        absl::string_view key) {
  if (value.kind_case() != Value::kStringValue) {
    return WrongType(key, "a string");
  }
  return value.string_value();
}

absl::Status ApplyServer(const Value& value, v1::RunRequest& request) {
  if (value.kind_case() != Value::kStructValue) {
    return WrongType("server", "an object");
  }
  for (const auto& [key, field] : value.struct_value().fields()) {
    if (key == "address") {
      if (absl::StatusOr<std::string> s = StringField(field, "server.address");
          !s.ok()) {
        return s.status();
      }
    } else if (key == "port") {
      double port = field.number_value();
      if (field.kind_case() != Value::kNumberValue || port < 1 ||
          port > 65535 || std::floor(port) != port) {
        return WrongType("server.port", "an integer from 1 to 65535");
      }
      request.mutable_vm()->set_agent_port(static_cast<uint32_t>(port));
    } else {
      return UnknownKey("server.", key, "address, port");
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyBuild(const Value& value, v1::Workload& workload) {
  if (value.kind_case() != Value::kStructValue) {
    return WrongType("build", "an object");
  }
  for (const auto& [key, field] : value.struct_value().fields()) {
    if (key == "source-code-path" || key == "source_code_path") {
      if (absl::StatusOr<std::string> s =
              StringField(field, "build.source-code-path");
          !s.ok()) {
        return s.status();
      }
    } else if (key == "release") {
      if (field.kind_case() != Value::kBoolValue) {
        return WrongType("build.release", "true or false");
      }
      workload.set_release(field.bool_value());
    } else {
      return UnknownKey("build.", key, "source-code-path, release");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLogLevel(const Value& value) {
  absl::StatusOr<std::string> level = StringField(value, "log_level");
  if (!level.ok()) return level.status();
  std::string lower = absl::AsciiStrToLower(*level);
  for (absl::string_view known : {"trace", "debug", "info", "warn", "error"}) {
    if (lower == known) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("log_level: unknown value \"", *level,
                   "\"; expected one of debug, info, warn, error"));
}

}  // namespace

bool IsLegacyBody(const Struct& body) {
  const auto& fields = body.fields();
  if (fields.contains("workload") || fields.contains("vm")) return false;
  for (absl::string_view key : kTopLevelKeys) {
    if (fields.contains(std::string(key))) return true;
  }
  return false;
}

absl::StatusOr<v1::RunRequest> FromLegacyBody(const Struct& body) {
  v1::RunRequest request;
  v1::Workload& workload = *request.mutable_workload();
  workload.set_action(v1::PREPARE_AND_RUN);
  bool has_language = false;
  bool has_code = false;
  for (const auto& [key, value] : body.fields()) {
    if (key == "workload_name") {
      absl::StatusOr<std::string> name = StringField(value, key);
      if (!name.ok()) return name.status();
      workload.set_name(*name);
    } else if (key == "language") {
      absl::StatusOr<std::string> name = StringField(value, key);
      if (!name.ok()) return name.status();
      absl::StatusOr<v1::Language> language = ParseLanguage(*name);
      if (!language.ok()) return language.status();
      workload.set_language(*language);
      has_language = true;
    } else if (key == "code") {
      absl::StatusOr<std::string> code = StringField(value, key);
      if (!code.ok()) return code.status();
      workload.set_code(*code);
      has_code = true;
    } else if (key == "log_level") {
      if (absl::Status s = ValidateLogLevel(value); !s.ok()) return s;
    } else if (key == "action") {
      absl::StatusOr<std::string> name = StringField(value, key);
      if (!name.ok()) return name.status();
      absl::StatusOr<v1::Action> action = ParseAction(*name);
      if (!action.ok()) return action.status();
      workload.set_action(*action);
    } else if (key == "server") {
      if (absl::Status s = ApplyServer(value, request); !s.ok()) return s;
    } else if (key == "build") {
      if (absl::Status s = ApplyBuild(value, workload); !s.ok()) return s;
    } else {
      return UnknownKey("", key, absl::StrJoin(kTopLevelKeys, ", "));
    }
  }
  if (!has_language) {
    return absl::InvalidArgumentError("language: required field is missing");
  }
  if (!has_code) {
    return absl::InvalidArgumentError(
        "code: required field is missing (the source code as text)");
  }
  return request;
}

}  // namespace cloudlet::api
