#include "agent/plan/request_validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

using ::testing::HasSubstr;

v1::ExecuteRequest ValidRequest() {
  v1::ExecuteRequest request;
  request.set_run_id("run-1");
  request.mutable_workload()->set_language(v1::SHELL);
  request.mutable_workload()->set_code("echo hi");
  return request;
}

absl::Status Validate(const v1::ExecuteRequest& request) {
  return ValidateExecuteRequest(
      request, RequestLimits{.max_code_bytes = 100, .max_stdin_bytes = 10});
}

TEST(ValidateExecuteRequest, AcceptsAMinimalRequest) {
  EXPECT_TRUE(Validate(ValidRequest()).ok());
}

TEST(ValidateExecuteRequest, AcceptsAnEmptyRunId) {
  v1::ExecuteRequest request = ValidRequest();
  request.clear_run_id();
  EXPECT_TRUE(Validate(request).ok());
}

TEST(ValidateExecuteRequest, RejectsAMissingWorkload) {
  v1::ExecuteRequest request;
  absl::Status status = Validate(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("workload is missing"));
}

TEST(ValidateExecuteRequest, RejectsEmptyCode) {
  v1::ExecuteRequest request = ValidRequest();
  request.mutable_workload()->clear_code();
  absl::Status status = Validate(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("workload.code: empty"));
}

TEST(ValidateExecuteRequest, RejectsCodeOverTheCapNamingBothSizes) {
  v1::ExecuteRequest request = ValidRequest();
  request.mutable_workload()->set_code(std::string(101, 'x'));
  absl::Status status = Validate(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("101 bytes"));
  EXPECT_THAT(status.message(), HasSubstr("limit of 100 bytes"));
}

TEST(ValidateExecuteRequest, RejectsAnUnsetLanguage) {
  v1::ExecuteRequest request = ValidRequest();
  request.mutable_workload()->clear_language();
  EXPECT_THAT(Validate(request).message(), HasSubstr("workload.language"));
}

TEST(ValidateExecuteRequest, RejectsAnUnknownAction) {
  v1::ExecuteRequest request = ValidRequest();
  request.mutable_workload()->set_action(static_cast<v1::Action>(9));
  absl::Status status = Validate(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown action 9"));
}

TEST(ValidateExecuteRequest, RejectsStdinOverTheCap) {
  v1::ExecuteRequest request = ValidRequest();
  request.mutable_workload()->set_stdin(std::string(11, 'x'));
  EXPECT_THAT(Validate(request).message(), HasSubstr("workload.stdin"));
}

TEST(ValidateExecuteRequest, RejectsANegativeTimeout) {
  v1::ExecuteRequest request = ValidRequest();
  request.mutable_workload()->mutable_timeout()->set_seconds(-1);
  EXPECT_THAT(Validate(request).message(), HasSubstr("negative"));
}

TEST(ValidateExecuteRequest, AcceptsHostEntropyUpToTheLimit) {
  v1::ExecuteRequest request = ValidRequest();
  request.set_host_entropy(std::string(kMaxHostEntropyBytes, 'x'));
  EXPECT_TRUE(Validate(request).ok());
}

TEST(ValidateExecuteRequest, RejectsHostEntropyOverTheLimitNamingBothSizes) {
  v1::ExecuteRequest request = ValidRequest();
  request.set_host_entropy(std::string(kMaxHostEntropyBytes + 1, 'x'));
  absl::Status status = Validate(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("host_entropy is 513 bytes"));
  EXPECT_THAT(status.message(), HasSubstr("limit of 512 bytes"));
}

TEST(ValidateExecuteRequest, RejectsARunIdThatIsNotAPlainName) {
  for (const char* id : {"../etc", "a b", "x/y", ".."}) {
    v1::ExecuteRequest request = ValidRequest();
    request.set_run_id(id);
    EXPECT_EQ(Validate(request).code(), absl::StatusCode::kInvalidArgument)
        << id;
  }
  v1::ExecuteRequest request = ValidRequest();
  request.set_run_id(std::string(kMaxRunIdLength + 1, 'a'));
  EXPECT_EQ(Validate(request).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateExecuteRequest, RejectsEnvNamesWithEqualsSign) {
  v1::ExecuteRequest request = ValidRequest();
  (*request.mutable_workload()->mutable_env())["A=B"] = "c";
  EXPECT_THAT(Validate(request).message(), HasSubstr("not a valid variable"));
}

TEST(ValidateExecuteRequest, RejectsArgsWithNul) {
  v1::ExecuteRequest request = ValidRequest();
  request.mutable_workload()->add_args(std::string("a\0b", 3));
  EXPECT_THAT(Validate(request).message(), HasSubstr("workload.args[0]"));
}

}  // namespace
}  // namespace cloudlet::agent
