#include "vmm/run/run_request.h"

#include <string>

#include "gtest/gtest.h"
#include "vmm/run/proto_time.h"

namespace cloudlet::vmm {
namespace {

v1::RunRequest ShellHello() {
  v1::RunRequest request;
  request.mutable_workload()->set_language(v1::SHELL);
  request.mutable_workload()->set_code("echo hello\n");
  return request;
}

void ExpectInvalid(const v1::RunRequest& request, const std::string& field,
                   const RunLimits& limits = {}) {
  absl::StatusOr<ResolvedRun> run = ResolveRunRequest(request, limits);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(run.status().message().find(field), absl::string_view::npos)
      << run.status();
}

TEST(ResolveRunRequest, FillsInTheDefaults) {
  RunLimits limits;
  limits.default_timeout = absl::Seconds(42);
  absl::StatusOr<ResolvedRun> run = ResolveRunRequest(ShellHello(), limits);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->memory_mib, 256u);
  EXPECT_EQ(run->vcpus, 1u);
  EXPECT_EQ(run->agent_port, 5000);
  EXPECT_EQ(run->timeout, absl::Seconds(42));
  EXPECT_EQ(FromProtoDuration(run->workload.timeout()), absl::Seconds(42));
  EXPECT_EQ(run->workload.code(), "echo hello\n");
}

TEST(ResolveRunRequest, KeepsWhatTheRequestAsksFor) {
  v1::RunRequest request = ShellHello();
  *request.mutable_workload()->mutable_timeout() =
      ToProtoDuration(absl::Seconds(3));
  request.mutable_vm()->set_memory_mib(512);
  request.mutable_vm()->set_vcpus(2);
  request.mutable_vm()->set_agent_port(6000);
  absl::StatusOr<ResolvedRun> run = ResolveRunRequest(request, {});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->timeout, absl::Seconds(3));
  EXPECT_EQ(run->memory_mib, 512u);
  EXPECT_EQ(run->vcpus, 2u);
  EXPECT_EQ(run->agent_port, 6000);
}

TEST(ResolveRunRequest, RejectsAMissingWorkload) {
  ExpectInvalid(v1::RunRequest(), "workload");
}

TEST(ResolveRunRequest, RejectsAnUnspecifiedLanguage) {
  v1::RunRequest request = ShellHello();
  request.mutable_workload()->set_language(v1::LANGUAGE_UNSPECIFIED);
  ExpectInvalid(request, "workload.language");
}

TEST(ResolveRunRequest, RejectsEmptyCode) {
  v1::RunRequest request = ShellHello();
  request.mutable_workload()->clear_code();
  ExpectInvalid(request, "workload.code");
}

TEST(ResolveRunRequest, RejectsCodeOverTheCap) {
  RunLimits limits;
  limits.max_code_bytes = 8;
  v1::RunRequest request = ShellHello();
  request.mutable_workload()->set_code(std::string(9, 'x'));
  ExpectInvalid(request, "workload.code", limits);
}

TEST(ResolveRunRequest, RejectsATimeoutOverTheMaximum) {
  RunLimits limits;
  limits.max_timeout = absl::Seconds(10);
  v1::RunRequest request = ShellHello();
  *request.mutable_workload()->mutable_timeout() =
      ToProtoDuration(absl::Seconds(11));
  ExpectInvalid(request, "workload.timeout", limits);
}

TEST(ResolveRunRequest, RejectsANegativeTimeout) {
  v1::RunRequest request = ShellHello();
  request.mutable_workload()->mutable_timeout()->set_seconds(-1);
  ExpectInvalid(request, "workload.timeout");
}

TEST(ResolveRunRequest, RejectsMemoryAndVcpusOutOfRange) {
  v1::RunRequest request = ShellHello();
  request.mutable_vm()->set_memory_mib(8);
  ExpectInvalid(request, "vm.memory_mib");
  request = ShellHello();
  request.mutable_vm()->set_memory_mib(1 << 20);
  ExpectInvalid(request, "vm.memory_mib");
  request = ShellHello();
  request.mutable_vm()->set_vcpus(1000);
  ExpectInvalid(request, "vm.vcpus");
  request = ShellHello();
  request.mutable_vm()->set_agent_port(70000);
  ExpectInvalid(request, "vm.agent_port");
}

}  // namespace
}  // namespace cloudlet::vmm
