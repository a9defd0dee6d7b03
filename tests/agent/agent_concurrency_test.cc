// Eight Executes at once, each with its own output and work dir.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process.h"

namespace cloudlet::agent_test {
namespace {

constexpr int kRuns = 8;

// Each run writes its id into its work dir, waits until all kRuns runs have
// checked in (so they provably run at the same time), then prints many
// lines on both streams and reads its file back.
constexpr char kScript[] = R"sh(
echo "$ID" > mine
touch "$RENDEZVOUS/$ID"
while [ "$(ls "$RENDEZVOUS" | wc -l)" -lt "$RUNS" ]; do sleep 0.05; done
i=0
while [ $i -lt 200 ]; do
  echo "$ID out $i"
  echo "$ID err $i" >&2
  i=$((i + 1))
done
echo "$ID mine=$(cat mine)"
)sh";

std::string Expected(const std::string& id, const char* stream) {
  std::string out;
  for (int i = 0; i < 200; ++i)
    absl::StrAppend(&out, id, " ", stream, " ", i, "\n");
  return out;
}

TEST(AgentConcurrency, EightRunsAtOnceEachGetTheirOwnOutput) {
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start();
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<TempDir> rendezvous = TempDir::Create("rendezvous-");
  ASSERT_TRUE(rendezvous.ok());

  std::vector<RunRecord> runs(kRuns);
  std::vector<std::thread> clients;
  for (int i = 0; i < kRuns; ++i) {
    clients.emplace_back([&, i] {
      v1::ExecuteRequest request = Request(v1::SHELL, kScript);
      request.set_run_id(absl::StrCat("concurrent-", i));
      auto& env = *request.mutable_workload()->mutable_env();
      env["ID"] = absl::StrCat("run", i);
      env["RENDEZVOUS"] = rendezvous->path().string();
      env["RUNS"] = absl::StrCat(kRuns);
      request.mutable_workload()->mutable_timeout()->set_seconds(60);
      runs[i] = Execute((*agent)->stub(), request, absl::Seconds(90));
    });
  }
  for (std::thread& client : clients) client.join();

  for (int i = 0; i < kRuns; ++i) {
    const RunRecord& run = runs[i];
    std::string id = absl::StrCat("run", i);
    ASSERT_TRUE(run.result.has_value()) << id << ": " << run.Summary();
    EXPECT_EQ(run.events.front().accepted().run_id(),
              absl::StrCat("concurrent-", i));
    EXPECT_EQ(run.result->status(), v1::DONE) << run.Summary();
    EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT),
              absl::StrCat(Expected(id, "out"), id, " mine=", id, "\n"));
    EXPECT_EQ(run.Output(v1::RUNNING, v1::STDERR), Expected(id, "err"));
  }
  EXPECT_TRUE(std::filesystem::is_empty((*agent)->work_root()));
}

}  // namespace
}  // namespace cloudlet::agent_test
