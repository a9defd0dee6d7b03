// The HTTP API in front of the real VMM: statuses the VMM decides (429, 400),
// those the API decides (400, 413, 404, 405, 503), a client disconnect
// killing the VM, and Cloudlet's original body.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/net.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/http_client.h"
#include "tests/e2e/chain.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;

std::string ErrorCode(const HttpResult& result) {
  google::protobuf::Struct body;
  if (!google::protobuf::util::JsonStringToMessage(result.body, &body).ok()) {
    return "(not JSON: " + result.body + ")";
  }
  return body.fields().at("code").string_value();
}

HttpResult Call(const std::string& method, const std::string& url,
                const std::string& body = "") {
  absl::StatusOr<HttpResult> result =
      HttpCall(method, url, body, absl::Seconds(120));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : HttpResult{};
}

// One VM slot, no queue: a second run while one runs is refused.
TEST(ApiE2eTest, SecondRunWithAllSlotsBusyIs429AndDisconnectKillsTheVm) {
  absl::StatusOr<std::unique_ptr<Chain>> chain =
      Chain::Start({.vmm_flags = {"--max_vms=1", "--max_queue=0"},
                    .api_flags = {}});
  ASSERT_TRUE(chain.ok()) << chain.status();
  std::string url = (*chain)->api_url() + "/run";

  std::atomic<bool> running{false};
  std::atomic<bool> drop{false};
  absl::Time dropped_at;
  std::thread first([&] {
    absl::StatusOr<HttpResult> result = HttpCall(
        "POST", url,
        ShellRun("echo started; while true; do echo tick; sleep 0.2; done"),
        absl::Seconds(180), [&](const HttpResult& so_far) {
          // "starte" in base64: the first chunk starts with "started\n",
          // and may hold the first "tick" too, which changes the base64
          // of the whole "started\n" but not of its first six bytes.
          if (so_far.body.find("\"c3RhcnRl") != std::string::npos) {
            running = true;
          }
          if (drop) {
            dropped_at = absl::Now();
            return false;
          }
          return true;
        });
    EXPECT_TRUE(result.ok() && result->dropped) << result.status();
  });
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (!running && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  if (!running) {
    drop = true;
    first.join();
    FAIL() << "the first run never started";
  }

  HttpResult second = Call("POST", url, ShellRun("echo second"));
  EXPECT_EQ(second.status, 429) << second.body;
  EXPECT_EQ(ErrorCode(second), "RESOURCE_EXHAUSTED");

  ASSERT_FALSE(VmProcessesOf((*chain)->vmm_pid()).empty());
  drop = true;
  first.join();
  std::vector<pid_t> left = WaitUntilNoVmLeft(
      std::max(dropped_at + absl::Seconds(2) - absl::Now(),
               absl::Milliseconds(10)));
  EXPECT_TRUE(left.empty()) << "the VM outlived its client by 2 s";
}

TEST(ApiE2eTest, ErrorStatusesBeforeTheStream) {
  absl::StatusOr<std::unique_ptr<Chain>> chain =
      Chain::Start({.vmm_flags = {}, .api_flags = {"--max_body_bytes=4096"}});
  ASSERT_TRUE(chain.ok()) << chain.status();
  std::string api = (*chain)->api_url();

  HttpResult bad_json = Call("POST", api + "/run", "{\"workload\": [");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(ErrorCode(bad_json), "INVALID_ARGUMENT");

  HttpResult unknown_field =
      Call("POST", api + "/run", R"({"workload": {"langauge": "SHELL"}})");
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_THAT(unknown_field.body, HasSubstr("langauge"));

  // Well-formed JSON the VMM itself rejects: no language.
  HttpResult vmm_rejects =
      Call("POST", api + "/run", R"({"workload": {"code": "ZWNobw=="}})");
  EXPECT_EQ(vmm_rejects.status, 400) << vmm_rejects.body;
  EXPECT_EQ(ErrorCode(vmm_rejects), "INVALID_ARGUMENT");

  HttpResult too_big =
      Call("POST", api + "/run", ShellRun(std::string(8000, '#')));
  EXPECT_EQ(too_big.status, 413);

  EXPECT_EQ(Call("GET", api + "/nowhere").status, 404);
  EXPECT_EQ(Call("GET", api + "/run").status, 405);
  EXPECT_EQ(Call("GET", api + "/healthz").status, 200);
  EXPECT_TRUE(VmProcessesOf((*chain)->vmm_pid()).empty());

  // An API whose VMM is not there answers 503, quickly.
  absl::StatusOr<uint16_t> dead_port = PickFreeLoopbackPort();
  ASSERT_TRUE(dead_port.ok());
  absl::StatusOr<std::unique_ptr<ApiProcess>> orphan = ApiProcess::Start(
      CLOUDLET_API_BINARY, absl::StrCat("127.0.0.1:", *dead_port));
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  absl::Time start = absl::Now();
  HttpResult unavailable =
      Call("POST", (*orphan)->url() + "/run", ShellRun("echo hi"));
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(ErrorCode(unavailable), "UNAVAILABLE");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(ApiE2eTest, CloudletsOriginalBodyRunsInAVm) {
  absl::StatusOr<std::unique_ptr<Chain>> chain = Chain::Start({});
  ASSERT_TRUE(chain.ok()) << chain.status();
  // What Cloudlet's CLI posts (its own example, with a Python workload to
  // keep the test quick under TCG).
  HttpResult result = Call("POST", (*chain)->api_url() + "/run", R"json({
      "workload_name": "legacy", "language": "python",
      "code": "print('hello from cloudlet')", "log_level": "info",
      "action": "prepare-and-run",
      "server": {"address": "localhost", "port": 50051},
      "build": {"source-code-path": "main.py", "release": false}})json");
  ASSERT_EQ(result.status, 200) << result.body;
  auto frames = SseFrames(result.body);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.front().first, "accepted");
  EXPECT_EQ(frames.back().first, "result") << result.body;
  EXPECT_THAT(frames.back().second, HasSubstr("\"exit_code\":0"));
  std::string out;
  for (const auto& [event, data] : frames) {
    if (event != "output") continue;
    google::protobuf::Struct parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(data, &parsed).ok());
    const auto& chunk = parsed.fields().at("output").struct_value().fields();
    if (chunk.at("stage").string_value() != "RUNNING") continue;
    std::string bytes;
    ASSERT_TRUE(absl::Base64Unescape(chunk.at("data").string_value(), &bytes));
    out += bytes;
  }
  EXPECT_EQ(out, "hello from cloudlet\n");
}

}  // namespace
}  // namespace cloudlet::testing
