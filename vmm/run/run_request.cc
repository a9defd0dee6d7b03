#include "vmm/run/run_request.h"

#include "absl/strings/str_cat.h"
#include "agent/plan/languages.h"
#include "common/workload_names.h"
#include "common/workload_source.h"
#include "vmm/run/proto_time.h"

namespace cloudlet::vmm {
namespace {

absl::Status OutOfRange(absl::string_view field, uint32_t value, uint32_t min,
                        uint32_t max) {
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": ", value, " is out of range; expected ", min, "..", max,
      " (0 takes the default)"));
}

}  // namespace

absl::StatusOr<ResolvedRun> ResolveRunRequest(const v1::RunRequest& request,
                                              const RunLimits& limits) {
  if (!request.has_workload()) {
    return absl::InvalidArgumentError(
        "workload: missing; a run needs the code and its language");
  }
  const v1::Workload& workload = request.workload();
  if (workload.language() == v1::LANGUAGE_UNSPECIFIED ||
      !v1::Language_IsValid(workload.language())) {
    return absl::InvalidArgumentError(
        absl::StrCat("workload.language: not set or unknown; expected one of ",
                     LanguageNameList()));
  }
  if (!v1::Action_IsValid(workload.action())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "workload.action: unknown value ", workload.action(),
        "; expected prepare, run or prepare-and-run"));
  }
  if (absl::Status s = ValidateWorkloadSource(workload, limits.max_code_bytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateDebianPackages(workload.packages()); !s.ok()) {
    return s;
  }
  // What the agent would refuse (a project without its entry point, a
  // Cargo.toml without a package name) is refused here, before a VM.
  if (absl::StatusOr<agent::LanguagePlan> plan = agent::PlanWorkload(workload);
      !plan.ok()) {
    return plan.status();
  }
  if (workload.stdin().size() > limits.max_stdin_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "workload.stdin: ", workload.stdin().size(),
        " bytes, over the limit of ", limits.max_stdin_bytes, " bytes"));
  }

  ResolvedRun run;
  run.timeout = FromProtoDuration(workload.timeout());
  if (run.timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("workload.timeout: ", absl::FormatDuration(run.timeout),
                     " is negative; give a positive duration or 0 for the "
                     "server's default"));
  }
  if (run.timeout == absl::ZeroDuration()) run.timeout = limits.default_timeout;
  if (run.timeout > limits.max_timeout) {
    return absl::InvalidArgumentError(absl::StrCat(
        "workload.timeout: ", absl::FormatDuration(run.timeout),
        " is over this server's maximum of ",
        absl::FormatDuration(limits.max_timeout)));
  }

  const v1::VmConfig& vm = request.vm();
  run.memory_mib = vm.memory_mib() == 0 ? limits.default_memory_mib
                                        : vm.memory_mib();
  if (run.memory_mib < limits.min_memory_mib ||
      run.memory_mib > limits.max_memory_mib) {
    return OutOfRange("vm.memory_mib", vm.memory_mib(), limits.min_memory_mib,
                      limits.max_memory_mib);
  }
  run.vcpus = vm.vcpus() == 0 ? limits.default_vcpus : vm.vcpus();
  if (run.vcpus < 1 || run.vcpus > limits.max_vcpus) {
    return OutOfRange("vm.vcpus", vm.vcpus(), 1, limits.max_vcpus);
  }
  uint32_t port =
      vm.agent_port() == 0 ? limits.default_agent_port : vm.agent_port();
  if (port < 1 || port > 65535) {
    return OutOfRange("vm.agent_port", vm.agent_port(), 1, 65535);
  }
  run.agent_port = static_cast<uint16_t>(port);

  run.workload = workload;
  *run.workload.mutable_timeout() = ToProtoDuration(run.timeout);
  return run;
}

}  // namespace cloudlet::vmm
