// cloudlet-api over HTTP in front of the real cloudlet-vmm (tests/e2e
// chain.h), as a client sees it: SSE framing and timing, the error statuses
// the API decides and those it relays from the VMM, a client going away
// and the VMM vanishing mid-stream, /healthz and /shutdown. The VMM runs on
// the host-agent seam (--vm_provider=host_agent): each run's "VM" is a
// real cloudlet-agent process, so these take milliseconds per run; the
// chain with real microVMs is tests/e2e.
// (429 and Cloudlet's original body are tests/e2e/api_e2e_test.cc.)
#include <signal.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/http_client.h"
#include "tests/e2e/chain.h"
#include "tests/support/no_vm_left.h"

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
    (chunk.at("stream").string_value() == "STDERR" ? err : out) += bytes;
  }
  return {out, err};
}

// "started\n" in base64, as it appears in an output frame.
constexpr char kStartedBase64[] = "c3RhcnRlZAo=";

class ApiHttpTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> vmm_flags = {},
             std::vector<std::string> api_flags = {}) {
    Chain::Options options;
    options.vmm_flags = std::move(vmm_flags);
    options.vmm_flags.push_back("--vm_provider=host_agent");
    options.api_flags = std::move(api_flags);
    absl::StatusOr<std::unique_ptr<Chain>> chain = Chain::Start(options);
    ASSERT_TRUE(chain.ok()) << chain.status();
    chain_ = *std::move(chain);
  }

  HttpResult Call(const std::string& method, const std::string& path,
                  const std::string& body = "",
                  absl::Duration timeout = absl::Seconds(120)) {
    absl::StatusOr<HttpResult> result =
        HttpCall(method, chain_->api_url() + path, body, timeout);
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

  // Stops the VMM for good (SIGTERM, then reaped): nothing listens at its
  // address any more.
  void StopVmm() {
    ASSERT_TRUE(chain_->vmm_process().SignalGroup(SIGTERM).ok());
    ASSERT_TRUE(chain_->vmm_process().WaitFor(absl::Seconds(15)).ok());
  }

  std::unique_ptr<Chain> chain_;
};

TEST_F(ApiHttpTest, RunStreamsEveryEventAsAnSseFrameAcceptedFirstResultLast) {
  Start();
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
  Start();
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

TEST_F(ApiHttpTest, ClientGoingAwayKillsTheVmWithinOneSecond) {
  Start();
  bool had_vm = false;
  absl::Time dropped;
  absl::StatusOr<HttpResult> result = HttpCall(
      "POST", chain_->api_url() + "/run", ShellRun("echo started; sleep 60"),
      absl::Seconds(120), [&](const HttpResult& so_far) {
        if (so_far.body.find(kStartedBase64) == std::string::npos) return true;
        had_vm = !VmProcessesOf(chain_->vmm_pid()).empty();
        dropped = absl::Now();
        return false;
      });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->dropped) << result->body;
  ASSERT_TRUE(had_vm) << "no qemu ran the workload";
  std::vector<pid_t> left = WaitUntilNoVmLeft(
      std::max(dropped + absl::Seconds(1) - absl::Now(), absl::ZeroDuration()));
  EXPECT_TRUE(left.empty()) << "the VM outlived its client by 1 s";
  RecordProperty("vm_gone_ms", static_cast<int>(absl::ToInt64Milliseconds(
                                   absl::Now() - dropped)));
}

TEST_F(ApiHttpTest, VmmKilledMidStreamEndsTheStreamWithAnErrorEventAndNoVm) {
  Start();
  bool killed = false;
  absl::StatusOr<HttpResult> result = HttpCall(
      "POST", chain_->api_url() + "/run", ShellRun("echo started; sleep 60"),
      absl::Seconds(120), [&](const HttpResult& so_far) {
        if (!killed &&
            so_far.body.find(kStartedBase64) != std::string::npos) {
          killed = ::kill(chain_->vmm_pid(), SIGKILL) == 0;
        }
        return true;
      });
  ASSERT_TRUE(killed) << "the workload never started";
  ASSERT_TRUE(result.ok()) << result.status();
  auto frames = SseFrames(result->body);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().first, "error") << result->body;
  EXPECT_THAT(frames.back().second, HasSubstr("UNAVAILABLE"));
  // The VMM's QEMU dies with it (it holds PR_SET_PDEATHSIG).
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(2)).empty())
      << "a VM outlived its killed VMM";
}

TEST_F(ApiHttpTest, MalformedJsonIs400) {
  Start();
  ExpectError(Call("POST", "/run", "{\"workload\": "), 400, "INVALID_ARGUMENT",
              "not a JSON object");
  EXPECT_TRUE(VmProcessesOf(chain_->vmm_pid()).empty());
}

TEST_F(ApiHttpTest, UnknownFieldIs400NamingTheField) {
  Start();
  ExpectError(Call("POST", "/run",
                   R"({"workload": {"language": "SHELL", "colour": 1}})"),
              400, "INVALID_ARGUMENT", "colour");
}

TEST_F(ApiHttpTest, VmmRejectingTheRequestIs400WithTheVmmsReason) {
  Start({"--max_memory_mib=1024"});
  ExpectError(Call("POST", "/run",
                   ShellRun("echo never", R"(, "vm": {"memory_mib": 2048})")),
              400, "INVALID_ARGUMENT", "vm.memory_mib: 2048 is out of range");
  EXPECT_TRUE(VmProcessesOf(chain_->vmm_pid()).empty());
}

TEST_F(ApiHttpTest, BodyOverTheLimitIs413) {
  Start({}, {"--max_body_bytes=1000"});
  ExpectError(Call("POST", "/run", ShellRun(std::string(2000, '#'))), 413,
              "RESOURCE_EXHAUSTED", "over the limit of 1000 bytes");
  EXPECT_TRUE(VmProcessesOf(chain_->vmm_pid()).empty());
}

TEST_F(ApiHttpTest, UnknownPathIs404AndWrongMethodIs405) {
  Start();
  ExpectError(Call("GET", "/nothing"), 404, "NOT_FOUND", "/nothing");
  ExpectError(Call("GET", "/run"), 405, "METHOD_NOT_ALLOWED", "use POST");
  ExpectError(Call("DELETE", "/shutdown"), 405, "METHOD_NOT_ALLOWED",
              "use POST");
  ExpectError(Call("POST", "/healthz", "{}"), 405, "METHOD_NOT_ALLOWED",
              "use GET");
  // A path taking several methods names them all.
  ExpectError(Call("PUT", "/functions", "{}"), 405, "METHOD_NOT_ALLOWED",
              "use POST, GET");
  ExpectError(Call("POST", "/functions/f", "{}"), 405, "METHOD_NOT_ALLOWED",
              "use GET, DELETE");
  // A 404 lists what there is.
  ExpectError(Call("GET", "/nothing"), 404, "NOT_FOUND",
              "GET /functions/{name}");
}

TEST_F(ApiHttpTest, UnreachableVmmIs503WithinTwoSeconds) {
  Start();
  StopVmm();
  absl::Time start = absl::Now();
  ExpectError(Call("POST", "/run", ShellRun("true")), 503, "UNAVAILABLE",
              "did not answer");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(ApiHttpTest, HealthzReportsTheApiAndTheVmm) {
  Start({"--max_vms=1"});
  HttpResult up = Call("GET", "/healthz");
  EXPECT_EQ(up.status, 200) << up.body;
  google::protobuf::Struct body = ParseJson(up.body);
  const auto& vmm = body.fields().at("vmm").struct_value().fields();
  EXPECT_EQ(vmm.at("accel").string_value(), "host");
  EXPECT_TRUE(vmm.at("ready").bool_value());
  EXPECT_EQ(vmm.at("max_vms").number_value(), 1);  // the VMM's own answer
  EXPECT_TRUE(body.fields().at("api").struct_value().fields().at("serving")
                  .bool_value());

  StopVmm();
  HttpResult down = Call("GET", "/healthz");
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_FALSE(ParseJson(down.body).fields().at("vmm").struct_value()
                   .fields().at("reachable").bool_value());
  // Liveness is the API's own: the VMM being away does not fail it.
  EXPECT_EQ(Call("GET", "/livez").status, 200);
}

TEST_F(ApiHttpTest, ShutdownStopsTheVmmAndThenTheApiItself) {
  Start();
  HttpResult result = Call("POST", "/shutdown");
  EXPECT_EQ(result.status, 200);
  EXPECT_TRUE(ParseJson(result.body).fields().at("success").bool_value())
      << result.body;
  absl::StatusOr<ExitStatus> vmm =
      chain_->vmm_process().WaitFor(absl::Seconds(10));
  ASSERT_TRUE(vmm.ok()) << "cloudlet-vmm still running after /shutdown";
  EXPECT_TRUE(vmm->success()) << vmm->ToString();
  absl::StatusOr<ExitStatus> api =
      chain_->api().process().WaitFor(absl::Seconds(5));
  ASSERT_TRUE(api.ok()) << "cloudlet-api still running after /shutdown";
  EXPECT_TRUE(api->success()) << api->ToString();
}

}  // namespace
}  // namespace cloudlet::testing
