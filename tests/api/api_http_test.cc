// cloudlet-api as a process, in front of a HostVmm (host_vmm.h): the HTTP
// side of the API — SSE framing and timing, error statuses, disconnects,
// Cloudlet's body, /healthz and /shutdown — without VMs. The same API in
// front of the real VMM is tested in tests/e2e.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/net.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/api_process.h"
#include "tests/api/host_vmm.h"
#include "tests/api/http_client.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  return parsed;
}

// The workload's stdout and stderr, reassembled from a stream's output
// frames.
std::pair<std::string, std::string> Outputs(const std::string& body) {
  std::string out, err;
  for (const auto& [event, data] : SseFrames(body)) {
    if (event != "output") continue;
    google::protobuf::Struct parsed = ParseJson(data);
    const auto& chunk = parsed.fields().at("output").struct_value().fields();
    std::string bytes;
    EXPECT_TRUE(absl::Base64Unescape(chunk.at("data").string_value(), &bytes));
    (chunk.at("stream").string_value() == "STDOUT" ? out : err) += bytes;
  }
  return {out, err};
}

std::string ShellRun(const std::string& script,
                     const std::string& extra_workload_fields = "") {
  return absl::StrCat(R"({"workload": {"language": "SHELL", "code": ")",
                      Base64(script), "\"", extra_workload_fields, "}}");
}

class ApiHttpTest : public ::testing::Test {
 protected:
  void SetUp() override { StartAll({}); }

  void StartAll(const std::vector<std::string>& api_flags) {
    absl::StatusOr<std::unique_ptr<HostVmmServer>> vmm =
        HostVmmServer::Start(0, {});
    ASSERT_TRUE(vmm.ok()) << vmm.status();
    vmm_ = *std::move(vmm);
    absl::StatusOr<std::unique_ptr<ApiProcess>> api =
        ApiProcess::Start(CLOUDLET_API_BINARY, vmm_->address(), api_flags);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
  }

  HttpResult Call(const std::string& method, const std::string& path,
                  const std::string& body = "",
                  absl::Duration timeout = absl::Seconds(20)) {
    absl::StatusOr<HttpResult> result =
        HttpCall(method, api_->url() + path, body, timeout);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : HttpResult{};
  }

  void ExpectError(const HttpResult& result, long status,
                   const std::string& code, const std::string& message_part) {
    EXPECT_EQ(result.status, status) << result.body;
    EXPECT_THAT(result.content_type, HasSubstr("application/json"));
    google::protobuf::Struct body = ParseJson(result.body);
    EXPECT_EQ(body.fields().at("code").string_value(), code);
    EXPECT_THAT(body.fields().at("message").string_value(),
                HasSubstr(message_part));
  }

  std::unique_ptr<HostVmmServer> vmm_;
  std::unique_ptr<ApiProcess> api_;
};

TEST_F(ApiHttpTest, RunStreamsEveryEventAsAnSseFrameAcceptedFirstResultLast) {
  HttpResult result =
      Call("POST", "/run", ShellRun("echo hi; echo oops >&2; exit 3"));
  EXPECT_EQ(result.status, 200);
  EXPECT_THAT(result.content_type, StartsWith("text/event-stream"));
  auto frames = SseFrames(result.body);
  ASSERT_GE(frames.size(), 4u) << result.body;
  EXPECT_EQ(frames.front().first, "accepted");
  EXPECT_EQ(frames.back().first, "result");
  google::protobuf::Struct last = ParseJson(frames.back().second);
  const auto& fields = last.fields().at("result").struct_value().fields();
  EXPECT_EQ(fields.at("exit_code").number_value(), 3);
  EXPECT_EQ(fields.at("reason").string_value(), "EXITED");
  EXPECT_EQ(Outputs(result.body),
            std::make_pair(std::string("hi\n"), std::string("oops\n")));
}

TEST_F(ApiHttpTest, EachFrameIsSentAsSoonAsTheWorkloadPrints) {
  HttpResult result =
      Call("POST", "/run", ShellRun("echo one; sleep 1; echo two"));
  ASSERT_EQ(result.status, 200);
  std::optional<absl::Time> one, two;
  for (const auto& [when, piece] : result.pieces) {
    // "one\n" and "two\n" are "b25lCg==" and "dHdvCg==" in base64.
    if (!one && piece.find("b25lCg==") != std::string::npos) one = when;
    if (!two && piece.find("dHdvCg==") != std::string::npos) two = when;
  }
  ASSERT_TRUE(one.has_value() && two.has_value()) << result.body;
  EXPECT_GE(*two - *one, absl::Milliseconds(800));
}

TEST_F(ApiHttpTest, ClientGoingAwayCancelsTheRunWithinOneSecond) {
  absl::Time dropped;
  absl::StatusOr<HttpResult> result = HttpCall(
      "POST", api_->url() + "/run", ShellRun("echo started; sleep 60"),
      absl::Seconds(20), [&](const HttpResult& so_far) {
        // "started\n" in base64.
        if (so_far.body.find("c3RhcnRlZAo=") == std::string::npos) return true;
        dropped = absl::Now();
        return false;
      });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->dropped);
  EXPECT_TRUE(vmm_->vmm().WaitForCancelled(1, dropped + absl::Seconds(1)))
      << "the VMM call was not cancelled within 1 s of the disconnect";
  EXPECT_EQ(vmm_->vmm().runs_running(), 0);
}

TEST_F(ApiHttpTest, VmmRefusingForLackOfSlotsIs429) {
  ExpectError(Call("POST", "/run",
                   ShellRun("true", R"(, "env": {"HOST_VMM_FAIL": )"
                                    R"("RESOURCE_EXHAUSTED"})")),
              429, "RESOURCE_EXHAUSTED", "scripted failure");
}

TEST_F(ApiHttpTest, VmmRejectingTheRequestIs400) {
  ExpectError(Call("POST", "/run",
                   R"({"workload": {"language": "NODE", "code": ""}})"),
              400, "INVALID_ARGUMENT", "shell and python only");
}

TEST_F(ApiHttpTest, MalformedJsonIs400) {
  ExpectError(Call("POST", "/run", "{\"workload\": "), 400, "INVALID_ARGUMENT",
              "not a JSON object");
  EXPECT_EQ(vmm_->vmm().runs_started(), 0);
}

TEST_F(ApiHttpTest, UnknownFieldIs400NamingTheField) {
  ExpectError(Call("POST", "/run",
                   R"({"workload": {"language": "SHELL", "colour": 1}})"),
              400, "INVALID_ARGUMENT", "colour");
}

TEST_F(ApiHttpTest, BodyOverTheLimitIs413) {
  api_.reset();
  vmm_.reset();
  StartAll({"--max_body_bytes=1000"});
  ExpectError(Call("POST", "/run", ShellRun(std::string(2000, '#'))), 413,
              "RESOURCE_EXHAUSTED", "over the limit of 1000 bytes");
  EXPECT_EQ(vmm_->vmm().runs_started(), 0);
}

TEST_F(ApiHttpTest, UnknownPathIs404AndWrongMethodIs405) {
  ExpectError(Call("GET", "/nothing"), 404, "NOT_FOUND", "/nothing");
  ExpectError(Call("GET", "/run"), 405, "METHOD_NOT_ALLOWED", "use POST");
  ExpectError(Call("DELETE", "/shutdown"), 405, "METHOD_NOT_ALLOWED",
              "use POST");
  ExpectError(Call("POST", "/healthz", "{}"), 405, "METHOD_NOT_ALLOWED",
              "use GET");
}

TEST_F(ApiHttpTest, UnreachableVmmIs503WithinTwoSeconds) {
  vmm_->Stop();
  absl::Time start = absl::Now();
  ExpectError(Call("POST", "/run", ShellRun("true")), 503, "UNAVAILABLE",
              "did not answer");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(ApiHttpTest, CloudletsOriginalBodyRuns) {
  HttpResult result = Call("POST", "/run", R"json({
      "workload_name": "legacy", "language": "python",
      "code": "print('from cloudlet')", "log_level": "info",
      "action": "prepare-and-run",
      "server": {"address": "localhost", "port": 50051},
      "build": {"source-code-path": "main.py", "release": true}})json");
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(Outputs(result.body).first, "from cloudlet\n");
  v1::RunRequest seen = vmm_->vmm().last_request();
  EXPECT_EQ(seen.workload().name(), "legacy");
  EXPECT_EQ(seen.workload().language(), v1::PYTHON);
  EXPECT_EQ(seen.vm().agent_port(), 50051u);
}

TEST_F(ApiHttpTest, HealthzReportsTheApiAndTheVmm) {
  HttpResult up = Call("GET", "/healthz");
  EXPECT_EQ(up.status, 200) << up.body;
  google::protobuf::Struct body = ParseJson(up.body);
  EXPECT_EQ(body.fields().at("vmm").struct_value().fields().at("accel")
                .string_value(),
            "host");
  EXPECT_TRUE(body.fields().at("api").struct_value().fields().at("serving")
                  .bool_value());

  vmm_->Stop();
  HttpResult down = Call("GET", "/healthz");
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_FALSE(ParseJson(down.body).fields().at("vmm").struct_value()
                   .fields().at("reachable").bool_value());
}

TEST_F(ApiHttpTest, ShutdownStopsTheVmmAndThenTheApiItself) {
  HttpResult result = Call("POST", "/shutdown");
  EXPECT_EQ(result.status, 200);
  EXPECT_TRUE(ParseJson(result.body).fields().at("success").bool_value());
  EXPECT_TRUE(vmm_->vmm().shutdown_requested());
  absl::StatusOr<ExitStatus> exit = api_->process().WaitFor(absl::Seconds(5));
  ASSERT_TRUE(exit.ok()) << "cloudlet-api still running after /shutdown";
  EXPECT_TRUE(exit->success()) << exit->ToString();
}

TEST_F(ApiHttpTest, VmmVanishingMidStreamEndsTheStreamWithAnErrorEvent) {
  std::thread stopper;
  absl::StatusOr<HttpResult> result = HttpCall(
      "POST", api_->url() + "/run", ShellRun("echo started; sleep 60"),
      absl::Seconds(20), [&](const HttpResult& so_far) {
        if (!stopper.joinable() &&
            so_far.body.find("c3RhcnRlZAo=") != std::string::npos) {
          stopper = std::thread([this] { vmm_->Stop(absl::ZeroDuration()); });
        }
        return true;
      });
  if (stopper.joinable()) stopper.join();
  ASSERT_TRUE(result.ok()) << result.status();
  auto frames = SseFrames(result->body);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().first, "error") << result->body;
}

}  // namespace
}  // namespace cloudlet::testing
