#include "agent/plan/request_validation.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "agent/plan/languages.h"
#include "common/workload_names.h"
#include "common/workload_source.h"

namespace cloudlet::agent {
namespace {

bool IsRunIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-';
}

absl::Status ValidateRunId(const std::string& run_id) {
  if (run_id.empty()) return absl::OkStatus();  // the agent picks one
  if (run_id.size() > kMaxRunIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("run_id is ", run_id.size(),
                     " characters, over the limit of ", kMaxRunIdLength));
  }
  for (char c : run_id) {
    if (!IsRunIdChar(c)) {
      return absl::InvalidArgumentError(
          "run_id may only contain letters, digits, '.', '_' and '-'");
    }
  }
  if (run_id == "." || run_id == "..") {
    return absl::InvalidArgumentError("run_id must not be '.' or '..'");
  }
  return absl::OkStatus();
}

bool HasNul(absl::string_view s) {
  return s.find('\0') != absl::string_view::npos;
}

absl::Status ValidateTimeout(const v1::Workload& workload) {
  if (!workload.has_timeout()) return absl::OkStatus();
  const auto& timeout = workload.timeout();
  bool consistent_signs = (timeout.seconds() >= 0 && timeout.nanos() >= 0) ||
                          (timeout.seconds() <= 0 && timeout.nanos() <= 0);
  if (timeout.nanos() <= -1000000000 || timeout.nanos() >= 1000000000 ||
      !consistent_signs) {
    return absl::InvalidArgumentError(
        "workload.timeout is not a valid duration");
  }
  if (timeout.seconds() < 0 || timeout.nanos() < 0) {
    return absl::InvalidArgumentError(
        "workload.timeout is negative; give a positive duration, or zero for "
        "the agent's default");
  }
  return absl::OkStatus();
}

absl::Status ValidateArgsAndEnv(const v1::Workload& workload) {
  for (int i = 0; i < workload.args_size(); ++i) {
    if (HasNul(workload.args(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat("workload.args[", i, "] contains a NUL byte"));
    }
  }
  for (const auto* env : {&workload.env(), &workload.run_env()}) {
    const char* field = env == &workload.env() ? "env" : "run_env";
    for (const auto& [key, value] : *env) {
      if (key.empty() || key.find('=') != std::string::npos || HasNul(key)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "workload.", field, ": \"", absl::CEscape(key),
            "\" is not a valid variable name (it must be non-empty, without "
            "'=' or NUL)"));
      }
      if (HasNul(value)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "workload.", field, "[", key, "] contains a NUL byte"));
      }
    }
  }
  return absl::OkStatus();
}

// The prebuilt files must be what this agent's build would have left: the
// plan's outputs, each once, no more than `max_bytes` in all. Anything else
// (a path that leaves the work dir, a file the run does not need) is a
// caller's mistake.
absl::Status ValidatePrebuilt(const v1::ExecuteRequest& request,
                              const LanguagePlan& plan, size_t max_bytes) {
  if (!request.has_prebuilt()) return absl::OkStatus();
  std::set<std::string> expected(plan.build_outputs.begin(),
                                 plan.build_outputs.end());
  size_t bytes = 0;
  for (const v1::File& file : request.prebuilt().files()) {
    if (expected.erase(file.path()) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prebuilt: \"", absl::CEscape(file.path()),
          "\" is not a build output of this workload (expected: ",
          absl::StrJoin(plan.build_outputs, ", "), ")"));
    }
    bytes += file.content().size();
  }
  if (!expected.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("prebuilt lacks the build output \"", *expected.begin(),
                     "\""));
  }
  if (bytes > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prebuilt is ", bytes, " bytes, over the limit of ", max_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateExecuteRequest(const v1::ExecuteRequest& request,
                                    const RequestLimits& limits) {
  if (absl::Status s = ValidateRunId(request.run_id()); !s.ok()) return s;
  if (request.host_entropy().size() > kMaxHostEntropyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "host_entropy is ", request.host_entropy().size(),
        " bytes, over the limit of ", kMaxHostEntropyBytes, " bytes"));
  }
  if (!request.has_workload()) {
    return absl::InvalidArgumentError(
        "workload is missing: send the code, its language and action");
  }
  const v1::Workload& workload = request.workload();
  if (absl::Status s = ValidateWorkloadSource(workload, limits.max_code_bytes);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(workload);
  if (!plan.ok()) return plan.status();
  if (absl::Status s =
          ValidatePrebuilt(request, *plan, limits.max_prebuilt_bytes);
      !s.ok()) {
    return s;
  }
  if (!v1::Action_IsValid(workload.action())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "workload.action: unknown action ", static_cast<int>(workload.action()),
        "; use prepare, run or prepare-and-run"));
  }
  if (workload.stdin().size() > limits.max_stdin_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("workload.stdin is ", workload.stdin().size(),
                     " bytes, over the agent's limit of ",
                     limits.max_stdin_bytes, " bytes"));
  }
  if (absl::Status s = ValidateTimeout(workload); !s.ok()) return s;
  return ValidateArgsAndEnv(workload);
}

}  // namespace cloudlet::agent
