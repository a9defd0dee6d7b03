// GET /metrics over the real chain: a shell run through cloudlet-api →
// cloudlet-vmm → a microVM shows up in the API's run counter and stage
// histograms, and the VMM's gauges and artifact counters come through the
// API's scrape, during the run and after it; runs that end without a
// Result of their own (refused, abandoned by their client) are counted too.
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/sync/poll.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/http_client.h"
#include "tests/e2e/chain.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::StartsWith;

constexpr char kShellDone[] =
    R"(cloudlet_runs_total{language="shell",outcome="done"})";
constexpr char kShellImageHits[] =
    R"(cloudlet_artifact_cache_hits_total{artifact="image/shell"})";
constexpr char kKernelHits[] =
    R"(cloudlet_artifact_cache_hits_total{artifact="kernel"})";

// The value of `series` (name and labels as the text format writes them,
// but for the vmm label: these chains have one VMM) in a scrape; nullopt
// when the scrape has no such sample.
std::optional<double> Sample(const std::string& scrape,
                             const std::string& series) {
  for (absl::string_view raw : absl::StrSplit(scrape, '\n')) {
    std::string unlabelled(raw);
    if (size_t at = unlabelled.find("vmm=\""); at != std::string::npos) {
      size_t end = unlabelled.find('"', at + 5);
      if (end != std::string::npos && unlabelled[end + 1] == ',') ++end;
      if (end != std::string::npos) unlabelled.erase(at, end + 1 - at);
      absl::StrReplaceAll({{"{}", ""}}, &unlabelled);
    }
    absl::string_view line = unlabelled;
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " "))
      continue;
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return std::nullopt;
}

std::string Scrape(const std::string& api) {
  absl::StatusOr<HttpResult> result =
      HttpCall("GET", api + "/metrics", "", absl::Seconds(10));
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return "";
  EXPECT_EQ(result->status, 200) << result->body;
  EXPECT_THAT(result->content_type, StartsWith("text/plain; version=0.0.4"));
  return result->body;
}

TEST(MetricsE2eTest, AShellRunIsCountedTimedAndItsVmAndCacheHitsShow) {
  absl::StatusOr<std::unique_ptr<Chain>> chain = Chain::Start({});
  ASSERT_TRUE(chain.ok()) << chain.status();
  const std::string api = (*chain)->api_url();

  const std::string before = Scrape(api);
  EXPECT_THAT(Sample(before, "cloudlet_vmm_up"), Optional(1.0)) << before;
  EXPECT_THAT(Sample(before, "cloudlet_vms_running"), Optional(0.0));
  const double runs_before = Sample(before, kShellDone).value_or(0);
  const std::optional<double> image_hits_before =
      Sample(before, kShellImageHits);
  const std::optional<double> kernel_hits_before = Sample(before, kKernelHits);
  ASSERT_TRUE(image_hits_before.has_value()) << before;
  ASSERT_TRUE(kernel_hits_before.has_value()) << before;

  // Scrape once while the workload runs: its VM and stream are counted.
  const std::string started = Base64("started\n");
  std::string during;
  absl::StatusOr<HttpResult> run = HttpCall(
      "POST", api + "/run", ShellRun("echo started; sleep 1; echo finished\n"),
      absl::Seconds(180), [&](const HttpResult& so_far) {
        if (during.empty() && absl::StrContains(so_far.body, started)) {
          during = Scrape(api);
        }
        return true;
      });
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->status, 200) << run->body;
  std::vector<std::pair<std::string, std::string>> frames =
      SseFrames(run->body);
  ASSERT_FALSE(frames.empty());
  ASSERT_EQ(frames.back().first, "result") << run->body;
  ASSERT_THAT(frames.back().second, HasSubstr(R"("status":"DONE")"));

  ASSERT_FALSE(during.empty()) << "the workload's output never arrived";
  EXPECT_THAT(Sample(during, "cloudlet_vms_running"), Optional(1.0));
  EXPECT_THAT(Sample(during, "cloudlet_runs_running"), Optional(1.0));
  EXPECT_THAT(Sample(during, "cloudlet_runs_queued"), Optional(0.0));
  EXPECT_THAT(Sample(during, "cloudlet_api_streams_active"), Optional(1.0));

  const std::string after = Scrape(api);
  EXPECT_THAT(Sample(after, kShellDone), Optional(runs_before + 1)) << after;
  for (const char* stage : {"boot", "run", "total"}) {
    EXPECT_THAT(
        Sample(after,
               absl::StrCat(R"(cloudlet_run_stage_duration_seconds_count{)",
                            R"(language="shell",stage=")", stage, "\"}")),
        Optional(1.0))
        << stage;
  }
  // The run took over a second, so its total is past the 1 s bucket.
  EXPECT_THAT(Sample(after, R"(cloudlet_run_stage_duration_seconds_bucket{)"
                            R"(language="shell",stage="total",le="1"})"),
              Optional(0.0));
  // The VM is gone before the Result is sent.
  EXPECT_THAT(Sample(after, "cloudlet_vms_running"), Optional(0.0));
  EXPECT_THAT(Sample(after, "cloudlet_runs_queued"), Optional(0.0));
  EXPECT_TRUE(Sample(after, "cloudlet_vm_slots").has_value());
  EXPECT_TRUE(Sample(after, "cloudlet_run_queue_capacity").has_value());
  EXPECT_THAT(Sample(after, kShellImageHits), Optional(*image_hits_before + 1));
  EXPECT_THAT(Sample(after, kKernelHits), Optional(*kernel_hits_before + 1));
  EXPECT_TRUE(VmProcessesOf((*chain)->vmm_pid()).empty());
}

// One VM slot and no queue: a second run is refused while the first runs,
// and the first is then abandoned by its client.
TEST(MetricsE2eTest, RefusedAndAbandonedRunsAreCountedAsRejectedAndCancelled) {
  absl::StatusOr<std::unique_ptr<Chain>> chain =
      Chain::Start({.vmm_flags = {"--max_vms=1", "--max_queue=0"},
                    .api_flags = {}});
  ASSERT_TRUE(chain.ok()) << chain.status();
  const std::string api = (*chain)->api_url();
  const std::string rejected =
      R"(cloudlet_runs_total{language="shell",outcome="rejected"})";
  const std::string cancelled =
      R"(cloudlet_runs_total{language="shell",outcome="cancelled"})";

  const std::string started = Base64("started\n");
  std::optional<HttpResult> refused;
  absl::StatusOr<HttpResult> first = HttpCall(
      "POST", api + "/run", ShellRun("echo started; sleep 60\n"),
      absl::Seconds(180), [&](const HttpResult& so_far) {
        if (!absl::StrContains(so_far.body, started)) return true;
        absl::StatusOr<HttpResult> second = HttpCall(
            "POST", api + "/run", ShellRun("echo second\n"), absl::Seconds(30));
        if (second.ok()) refused = *second;
        return false;  // drop the first run's stream
      });
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->dropped) << first->body;
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 429) << refused->body;

  std::string scrape;
  absl::Status counted =
      PollUntil("the abandoned run to be counted",
                absl::Now() + absl::Seconds(10), [&]() -> absl::StatusOr<bool> {
                  scrape = Scrape(api);
                  return Sample(scrape, cancelled).has_value();
                });
  ASSERT_TRUE(counted.ok()) << counted << "\n" << scrape;
  EXPECT_THAT(Sample(scrape, cancelled), Optional(1.0));
  EXPECT_THAT(Sample(scrape, rejected), Optional(1.0));
  EXPECT_FALSE(
      Sample(scrape, R"(cloudlet_runs_total{language="shell",outcome="done"})")
          .has_value());
  // The VMM kills the abandoned run's VM and stops counting it once its
  // state is cleaned up too.
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(5)).empty());
  EXPECT_TRUE(
      PollUntil("cloudlet_vms_running 0", absl::Now() + absl::Seconds(5),
                [&]() -> absl::StatusOr<bool> {
                  return Sample(Scrape(api), "cloudlet_vms_running") == 0.0;
                })
          .ok());
}

}  // namespace
}  // namespace cloudlet::testing
