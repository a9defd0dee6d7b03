#include "api/metrics.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Labels = std::map<std::string, std::string>;

google::protobuf::Duration Millis(int64_t ms) {
  google::protobuf::Duration duration;
  duration.set_seconds(ms / 1000);
  duration.set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return duration;
}

const prometheus::MetricFamily* FindFamily(
    const std::vector<prometheus::MetricFamily>& families,
    const std::string& name) {
  for (const prometheus::MetricFamily& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

// The sample of `name` whose labels are exactly `labels`.
std::optional<prometheus::ClientMetric> FindSample(
    const std::vector<prometheus::MetricFamily>& families,
    const std::string& name, const Labels& labels) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return std::nullopt;
  for (const prometheus::ClientMetric& metric : family->metric) {
    Labels found;
    for (const auto& label : metric.label) found[label.name] = label.value;
    if (found == labels) return metric;
  }
  return std::nullopt;
}

v1::Result DoneResult(int exit_code) {
  v1::Result result;
  result.set_status(v1::DONE);
  result.set_reason(v1::EXITED);
  result.set_exit_code(exit_code);
  *result.mutable_timings()->mutable_prepare() = Millis(3);
  *result.mutable_timings()->mutable_boot() = Millis(1500);
  *result.mutable_timings()->mutable_run() = Millis(200);
  *result.mutable_timings()->mutable_total() = Millis(1800);
  return result;
}

v1::Result FailedResult(v1::Reason reason) {
  v1::Result result;
  result.set_status(v1::FAILED);
  result.set_reason(reason);
  return result;
}

v1::VmmHealthResponse Health() {
  v1::VmmHealthResponse health;
  health.set_ready(true);
  health.set_vms_running(2);
  health.set_running_runs(3);
  health.set_queued_runs(4);
  health.set_max_vms(5);
  health.set_max_queue(16);
  v1::ArtifactState* kernel = health.add_artifacts();
  kernel->set_name("kernel");
  kernel->set_cache_hits(7);
  kernel->set_builds(1);
  v1::ArtifactState* shell = health.add_artifacts();
  shell->set_name("image/shell");
  shell->set_cache_hits(6);
  shell->set_build_failures(2);
  return health;
}

TEST(OutcomeOf, IsDoneForAFinishedRunWhateverItsExitCode) {
  EXPECT_EQ(OutcomeOf(DoneResult(0)), "done");
  EXPECT_EQ(OutcomeOf(DoneResult(3)), "done");
}

TEST(OutcomeOf, IsTheReasonForAFailedRun) {
  EXPECT_EQ(OutcomeOf(FailedResult(v1::BUILD_FAILED)), "build_failed");
  EXPECT_EQ(OutcomeOf(FailedResult(v1::TIMEOUT)), "timeout");
  EXPECT_EQ(OutcomeOf(FailedResult(v1::CANCELLED)), "cancelled");
  EXPECT_EQ(OutcomeOf(FailedResult(v1::PREPARE_FAILED)), "prepare_failed");
  EXPECT_EQ(OutcomeOf(FailedResult(v1::REASON_UNSPECIFIED)), "failed");
}

TEST(ApiMetrics, CountsRunsByLanguageAndOutcome) {
  prometheus::Registry registry;
  ApiMetrics metrics(registry);
  metrics.RecordResult(v1::SHELL, DoneResult(0));
  metrics.RecordResult(v1::SHELL, DoneResult(1));
  metrics.RecordResult(v1::RUST, FailedResult(v1::BUILD_FAILED));
  metrics.RecordOutcome(v1::PYTHON, kOutcomeRejected);

  std::vector<prometheus::MetricFamily> families = registry.Collect();
  const prometheus::MetricFamily* runs =
      FindFamily(families, "cloudlet_runs_total");
  ASSERT_NE(runs, nullptr);
  EXPECT_EQ(runs->type, prometheus::MetricType::Counter);
  EXPECT_EQ(runs->metric.size(), 3u);
  auto count = [&](const Labels& labels) {
    std::optional<prometheus::ClientMetric> sample =
        FindSample(families, "cloudlet_runs_total", labels);
    return sample ? sample->counter.value : -1;
  };
  EXPECT_EQ(count({{"language", "shell"}, {"outcome", "done"}}), 2);
  EXPECT_EQ(count({{"language", "rust"}, {"outcome", "build_failed"}}), 1);
  EXPECT_EQ(count({{"language", "python"}, {"outcome", "rejected"}}), 1);
}

TEST(ApiMetrics, ObservesOnlyTheStagesARunWentThrough) {
  prometheus::Registry registry;
  ApiMetrics metrics(registry);
  metrics.RecordResult(v1::SHELL, DoneResult(0));

  std::vector<prometheus::MetricFamily> families = registry.Collect();
  const prometheus::MetricFamily* durations =
      FindFamily(families, "cloudlet_run_stage_duration_seconds");
  ASSERT_NE(durations, nullptr);
  EXPECT_EQ(durations->type, prometheus::MetricType::Histogram);
  // prepare, boot, run, total; no queue or build.
  EXPECT_EQ(durations->metric.size(), 4u);
  EXPECT_FALSE(FindSample(families, "cloudlet_run_stage_duration_seconds",
                          {{"language", "shell"}, {"stage", "queue"}}));
  EXPECT_FALSE(FindSample(families, "cloudlet_run_stage_duration_seconds",
                          {{"language", "shell"}, {"stage", "build"}}));

  std::optional<prometheus::ClientMetric> boot =
      FindSample(families, "cloudlet_run_stage_duration_seconds",
                 {{"language", "shell"}, {"stage", "boot"}});
  ASSERT_TRUE(boot.has_value());
  EXPECT_EQ(boot->histogram.sample_count, 1u);
  EXPECT_DOUBLE_EQ(boot->histogram.sample_sum, 1.5);
  for (const prometheus::ClientMetric::Bucket& bucket :
       boot->histogram.bucket) {
    EXPECT_EQ(bucket.cumulative_count, bucket.upper_bound >= 1.5 ? 1u : 0u)
        << "le=" << bucket.upper_bound;
  }
}

TEST(ApiMetrics, DurationBucketsGoFromTenMillisecondsToTenMinutes) {
  const std::vector<double>& buckets = ApiMetrics::DurationBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_DOUBLE_EQ(buckets.front(), 0.01);
  EXPECT_DOUBLE_EQ(buckets.back(), 600);
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
}

TEST(ApiMetrics, ReportsTheActiveStreamsItWasLastGiven) {
  prometheus::Registry registry;
  ApiMetrics metrics(registry);
  metrics.SetActiveStreams(3);
  std::optional<prometheus::ClientMetric> streams =
      FindSample(registry.Collect(), "cloudlet_api_streams_active", {});
  ASSERT_TRUE(streams.has_value());
  EXPECT_EQ(streams->gauge.value, 3);
}

constexpr char kVmmA[] = "127.0.0.1:50061";
constexpr char kVmmB[] = "127.0.0.1:50062";

FleetProbe Fleet(std::vector<VmmProbe> vmms) {
  FleetProbe fleet;
  fleet.vmms = std::move(vmms);
  return fleet;
}

TEST(VmmMetricFamilies, AnUnreachableVmmIsOnlyVmmUpZero) {
  std::vector<prometheus::MetricFamily> families = VmmMetricFamilies(
      Fleet({{kVmmA, absl::UnavailableError("no VMM")}}));
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(FindSample(families, "cloudlet_vmms_ready", {})->gauge.value, 0);
  EXPECT_EQ(
      FindSample(families, "cloudlet_vmm_up", {{"vmm", kVmmA}})->gauge.value,
      0);
}

TEST(VmmMetricFamilies, ReportsTheVmmGaugesAndPerArtifactCounters) {
  std::vector<prometheus::MetricFamily> families =
      VmmMetricFamilies(Fleet({{kVmmA, Health()}}));
  auto gauge = [&](const std::string& name) {
    std::optional<prometheus::ClientMetric> sample =
        FindSample(families, name, {{"vmm", kVmmA}});
    return sample ? sample->gauge.value : -1;
  };
  EXPECT_EQ(gauge("cloudlet_vmm_up"), 1);
  EXPECT_EQ(gauge("cloudlet_vms_running"), 2);
  EXPECT_EQ(gauge("cloudlet_runs_running"), 3);
  EXPECT_EQ(gauge("cloudlet_runs_queued"), 4);
  EXPECT_EQ(gauge("cloudlet_vm_slots"), 5);
  EXPECT_EQ(gauge("cloudlet_run_queue_capacity"), 16);

  auto counter = [&](const std::string& name, const std::string& artifact) {
    std::optional<prometheus::ClientMetric> sample = FindSample(
        families, name, {{"vmm", kVmmA}, {"artifact", artifact}});
    return sample ? sample->counter.value : -1;
  };
  EXPECT_EQ(counter("cloudlet_artifact_cache_hits_total", "kernel"), 7);
  EXPECT_EQ(counter("cloudlet_artifact_cache_hits_total", "image/shell"), 6);
  EXPECT_EQ(counter("cloudlet_artifact_builds_total", "kernel"), 1);
  EXPECT_EQ(counter("cloudlet_artifact_builds_total", "image/shell"), 0);
  EXPECT_EQ(counter("cloudlet_artifact_build_failures_total", "image/shell"),
            2);
  EXPECT_EQ(FindFamily(families, "cloudlet_artifact_builds_total")->type,
            prometheus::MetricType::Counter);
}

TEST(VmmMetricFamilies, ReportsEachVmmUnderItsAddressAndCountsTheReadyOnes) {
  v1::VmmHealthResponse busy = Health();
  busy.set_ready(false);
  busy.set_runs_accepted(9);
  v1::VmmHealthResponse idle = Health();
  idle.set_running_runs(0);
  std::vector<prometheus::MetricFamily> families = VmmMetricFamilies(
      Fleet({{kVmmA, busy},
             {kVmmB, idle},
             {"127.0.0.1:50063", absl::UnavailableError("gone")}}));
  EXPECT_EQ(FindSample(families, "cloudlet_vmms_ready", {})->gauge.value, 1);
  EXPECT_EQ(FindSample(families, "cloudlet_runs_running", {{"vmm", kVmmA}})
                ->gauge.value,
            3);
  EXPECT_EQ(FindSample(families, "cloudlet_runs_running", {{"vmm", kVmmB}})
                ->gauge.value,
            0);
  EXPECT_EQ(FindSample(families, "cloudlet_vmm_runs_accepted_total",
                       {{"vmm", kVmmA}})
                ->counter.value,
            9);
  EXPECT_EQ(FindSample(families, "cloudlet_vmm_up",
                       {{"vmm", "127.0.0.1:50063"}})
                ->gauge.value,
            0);
  EXPECT_FALSE(FindSample(families, "cloudlet_runs_running",
                          {{"vmm", "127.0.0.1:50063"}})
                   .has_value());
}

TEST(VmmMetricFamilies, ReportsBuildCacheHitsMissesAndStoresWhenTheVmmKeepsBuilds) {
  v1::VmmHealthResponse health = Health();
  EXPECT_EQ(FindFamily(VmmMetricFamilies(Fleet({{kVmmA, health}})),
                       "cloudlet_build_cache_lookups_total"),
            nullptr);
  health.mutable_build_cache()->set_hits(3);
  health.mutable_build_cache()->set_misses(2);
  health.mutable_build_cache()->set_stored(1);
  std::vector<prometheus::MetricFamily> families =
      VmmMetricFamilies(Fleet({{kVmmA, health}}));
  auto lookups = [&](const std::string& result) {
    std::optional<prometheus::ClientMetric> sample =
        FindSample(families, "cloudlet_build_cache_lookups_total",
                   {{"vmm", kVmmA}, {"result", result}});
    return sample ? sample->counter.value : -1;
  };
  EXPECT_EQ(lookups("hit"), 3);
  EXPECT_EQ(lookups("miss"), 2);
  std::optional<prometheus::ClientMetric> stored = FindSample(
      families, "cloudlet_build_cache_stored_total", {{"vmm", kVmmA}});
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->counter.value, 1);
}

TEST(ScrapeText, IsPrometheusTextWithTheApiAndVmmMetrics) {
  prometheus::Registry registry;
  ApiMetrics metrics(registry);
  metrics.RecordResult(v1::PYTHON, FailedResult(v1::TIMEOUT));
  metrics.RecordResult(v1::SHELL, DoneResult(0));

  std::string text = ScrapeText(registry, Fleet({{kVmmA, Health()}}));
  EXPECT_THAT(text, HasSubstr("# TYPE cloudlet_runs_total counter\n"));
  EXPECT_THAT(text, HasSubstr("cloudlet_runs_total{language=\"python\","
                              "outcome=\"timeout\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE cloudlet_run_stage_duration_seconds "
                              "histogram\n"));
  EXPECT_THAT(text, HasSubstr("cloudlet_run_stage_duration_seconds_count{"
                              "language=\"shell\",stage=\"total\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cloudlet_run_stage_duration_seconds_bucket{"
                              "language=\"shell\",stage=\"total\",le=\"2.5\"}"
                              " 1\n"));
  EXPECT_THAT(text, HasSubstr("cloudlet_vmm_up{vmm=\"127.0.0.1:50061\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE cloudlet_vms_running gauge\n"));
  EXPECT_THAT(text, HasSubstr("cloudlet_artifact_cache_hits_total{vmm=\""
                              "127.0.0.1:50061\",artifact=\"image/shell\"} 6\n"));

  std::string down = ScrapeText(
      registry, Fleet({{kVmmA, absl::UnavailableError("no VMM")}}));
  EXPECT_THAT(down, HasSubstr("cloudlet_vmm_up{vmm=\"127.0.0.1:50061\"} 0\n"));
  EXPECT_THAT(down, HasSubstr("cloudlet_runs_total{"));
  EXPECT_THAT(down, Not(HasSubstr("cloudlet_vms_running")));
}

}  // namespace
}  // namespace cloudlet::api
