#include "api/request/run_request_json.h"

#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::api {
namespace {

using ::testing::HasSubstr;

TEST(DecodeRunRequest, ReadsTheProtoJsonMapping) {
  // "cHJpbnQoMSkK" is base64 for "print(1)\n".
  absl::StatusOr<v1::RunRequest> request = DecodeRunRequest(R"({
      "workload": {"name": "hello", "language": "PYTHON",
                   "code": "cHJpbnQoMSkK", "args": ["a", "b"],
                   "env": {"K": "V"}, "timeout": "30s"},
      "vm": {"memory_mib": 512, "vcpus": 2}})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->workload().name(), "hello");
  EXPECT_EQ(request->workload().language(), v1::PYTHON);
  EXPECT_EQ(request->workload().code(), "print(1)\n");
  EXPECT_THAT(request->workload().args(), ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(request->workload().env().at("K"), "V");
  EXPECT_EQ(request->workload().timeout().seconds(), 30);
  EXPECT_EQ(request->vm().memory_mib(), 512u);
  EXPECT_EQ(request->vm().vcpus(), 2u);
}

TEST(DecodeRunRequest, AcceptsLowerCamelCaseNamesToo) {
  absl::StatusOr<v1::RunRequest> request = DecodeRunRequest(
      R"({"workload": {"language": "SHELL", "code": "ZWNobyBoaQ==",
                       "outputLimitBytes": "1024"},
          "vm": {"memoryMib": 128}})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->workload().output_limit_bytes(), 1024u);
  EXPECT_EQ(request->vm().memory_mib(), 128u);
}

TEST(DecodeRunRequest, RejectsUnknownFieldsNamingThem) {
  absl::StatusOr<v1::RunRequest> request = DecodeRunRequest(
      R"({"workload": {"language": "PYTHON", "code": "", "colour": "red"}})");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(), HasSubstr("colour"));

  request = DecodeRunRequest(R"({"workload": {}, "extra": 1})");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(), HasSubstr("extra"));
}

TEST(DecodeRunRequest, RejectsMalformedJson) {
  for (const char* body : {"", "{", "not json", "[1, 2]", "\"text\"",
                           R"({"workload": {"language": "PYTHON",)"}) {
    absl::StatusOr<v1::RunRequest> request = DecodeRunRequest(body);
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument)
        << body;
    EXPECT_THAT(request.status().message(), HasSubstr("JSON")) << body;
  }
}

TEST(DecodeRunRequest, RejectsBadValues) {
  EXPECT_EQ(DecodeRunRequest(R"({"workload": {"language": "COBOL"}})")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      DecodeRunRequest(R"({"workload": {"code": "not base64!"}})").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeRunRequest(R"({"vm": {"vcpus": -1}})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DecodeRunRequest, RejectsDeepNestingAtOnce) {
  // 100000 levels took the Struct transcoder minutes; now one quick pass.
  std::string body = "{\"workload\": " + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  absl::Time start = absl::Now();
  absl::StatusOr<v1::RunRequest> request = DecodeRunRequest(body);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(),
              HasSubstr("nested 100001 levels deep; at most 32"));
}

TEST(DecodeRunRequest, RequiresAWorkload) {
  absl::StatusOr<v1::RunRequest> request = DecodeRunRequest("{}");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(), HasSubstr("workload"));
  EXPECT_FALSE(DecodeRunRequest(R"({"vm": {"vcpus": 1}})").ok());
}

TEST(DecodeRunRequest, ReadsCloudletsOriginalBody) {
  // Exactly what Cloudlet's CLI sends for its fibonacci example.
  absl::StatusOr<v1::RunRequest> request = DecodeRunRequest(R"({
      "workload_name": "fibonacci", "language": "rust",
      "code": "fn main() { println!(\"hi\"); }\n", "log_level": "info",
      "action": "prepare-and-run",
      "server": {"address": "localhost", "port": 50051},
      "build": {"source-code-path": "/home/u/main.rs", "release": true}})");
  ASSERT_TRUE(request.ok()) << request.status();
  const v1::Workload& workload = request->workload();
  EXPECT_EQ(workload.name(), "fibonacci");
  EXPECT_EQ(workload.language(), v1::RUST);
  EXPECT_EQ(workload.code(), "fn main() { println!(\"hi\"); }\n");
  EXPECT_EQ(workload.action(), v1::PREPARE_AND_RUN);
  EXPECT_TRUE(workload.release());
  EXPECT_EQ(request->vm().agent_port(), 50051u);
}

TEST(DecodeRunRequest, CloudletBodyNeedsOnlyLanguageAndCode) {
  absl::StatusOr<v1::RunRequest> request =
      DecodeRunRequest(R"json({"language": "PYTHON", "code": "print(2)"})json");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->workload().language(), v1::PYTHON);
  EXPECT_EQ(request->workload().action(), v1::PREPARE_AND_RUN);
  EXPECT_FALSE(request->has_vm());
}

TEST(DecodeRunRequest, CloudletBodyErrorsNameTheKey) {
  struct Case {
    const char* body;
    const char* expected;
  } cases[] = {
      {R"({"workload_name": "x", "code": "c"})", "language: required"},
      {R"({"language": "rust"})", "code: required"},
      {R"({"language": "go", "code": "c"})", "language: unknown value \"go\""},
      {R"({"language": "rust", "code": 3})", "code: must be a string"},
      {R"({"language": "rust", "code": "c", "action": "fly"})",
       "action: unknown value"},
      {R"({"language": "rust", "code": "c", "server": {"port": 70000}})",
       "server.port"},
      {R"({"language": "rust", "code": "c", "build": {"release": "yes"}})",
       "build.release"},
      {R"({"language": "rust", "code": "c", "build": {"debug": true}})",
       "build.debug: unknown field"},
      {R"({"language": "rust", "code": "c", "colour": 1})",
       "colour: unknown field"},
      {R"({"language": "rust", "code": "c", "log_level": "loud"})",
       "log_level"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::RunRequest> request = DecodeRunRequest(c.body);
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument)
        << c.body;
    EXPECT_THAT(request.status().message(), HasSubstr(c.expected)) << c.body;
  }
}

}  // namespace
}  // namespace cloudlet::api
