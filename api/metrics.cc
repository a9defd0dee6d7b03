#include "api/metrics.h"

#include <prometheus/text_serializer.h>

#include <utility>

#include "common/workload_names.h"

namespace cloudlet::api {
namespace {

double Seconds(const google::protobuf::Duration& duration) {
  return static_cast<double>(duration.seconds()) +
         static_cast<double>(duration.nanos()) / 1e9;
}

prometheus::MetricFamily Family(std::string name, std::string help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

prometheus::MetricFamily GaugeFamily(std::string name, std::string help,
                                     double value) {
  prometheus::MetricFamily family =
      Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
  family.metric.emplace_back().gauge.value = value;
  return family;
}

// One counter family with a sample per artifact, taken from `field`.
prometheus::MetricFamily ArtifactCounter(std::string name, std::string help,
                                         const v1::VmmHealthResponse& health,
                                         uint64_t (v1::ArtifactState::*field)()
                                             const) {
  prometheus::MetricFamily family =
      Family(std::move(name), std::move(help), prometheus::MetricType::Counter);
  for (const v1::ArtifactState& artifact : health.artifacts()) {
    prometheus::ClientMetric& metric = family.metric.emplace_back();
    metric.label.push_back({"artifact", artifact.name()});
    metric.counter.value = static_cast<double>((artifact.*field)());
  }
  return family;
}

}  // namespace

std::string OutcomeOf(const v1::Result& result) {
  if (result.status() == v1::DONE) return "done";
  if (result.reason() == v1::REASON_UNSPECIFIED) return "failed";
  return ReasonName(result.reason());
}

ApiMetrics::ApiMetrics(prometheus::Registry& registry)
    : runs_(prometheus::BuildCounter()
                .Name("cloudlet_runs_total")
                .Help("Runs that ended, by language and outcome (done, or "
                      "why the run failed: build_failed, timeout, "
                      "cancelled, rejected, ...)")
                .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("cloudlet_run_stage_duration_seconds")
                     .Help("How long each stage of a finished run took "
                           "(prepare, queue, boot, build, run, total), "
                           "from the run's Result")
                     .Register(registry)),
      streams_active_(prometheus::BuildGauge()
                          .Name("cloudlet_api_streams_active")
                          .Help("Run streams the API is serving now")
                          .Register(registry)
                          .Add({})),
      invocations_(prometheus::BuildCounter()
                       .Name("cloudlet_function_invocations_total")
                       .Help("Invocations of each deployed function that "
                             "were started")
                       .Register(registry)) {}

const std::vector<double>& ApiMetrics::DurationBuckets() {
  static const std::vector<double> kBuckets = {
      0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
      5,    10,    20,   30,  60,   120, 300, 600};
  return kBuckets;
}

void ApiMetrics::RecordResult(v1::Language language, const v1::Result& result) {
  RecordOutcome(language, OutcomeOf(result));
  std::string lang(LanguageName(language));
  const v1::Timings& timings = result.timings();
  const std::pair<const char*, const google::protobuf::Duration*> stages[] = {
      {"prepare", timings.has_prepare() ? &timings.prepare() : nullptr},
      {"queue", timings.has_queue() ? &timings.queue() : nullptr},
      {"boot", timings.has_boot() ? &timings.boot() : nullptr},
      {"build", timings.has_build() ? &timings.build() : nullptr},
      {"run", timings.has_run() ? &timings.run() : nullptr},
      {"total", timings.has_total() ? &timings.total() : nullptr},
  };
  for (const auto& [stage, duration] : stages) {
    if (duration == nullptr) continue;
    durations_.Add({{"language", lang}, {"stage", stage}}, DurationBuckets())
        .Observe(Seconds(*duration));
  }
}

void ApiMetrics::RecordOutcome(v1::Language language,
                               absl::string_view outcome) {
  runs_
      .Add({{"language", std::string(LanguageName(language))},
            {"outcome", std::string(outcome)}})
      .Increment();
}

void ApiMetrics::SetActiveStreams(int streams) { streams_active_.Set(streams); }

void ApiMetrics::RecordInvocation(absl::string_view name) {
  invocations_.Add({{"function", std::string(name)}}).Increment();
}

std::vector<prometheus::MetricFamily> VmmMetricFamilies(
    const absl::StatusOr<v1::VmmHealthResponse>& health) {
  std::vector<prometheus::MetricFamily> families;
  families.push_back(GaugeFamily(
      "cloudlet_vmm_up",
      "1 when the VMM answered the scrape's Health call, else 0 (and no "
      "other cloudlet_vm*/artifact metric is reported)",
      health.ok() ? 1 : 0));
  if (!health.ok()) return families;
  families.push_back(GaugeFamily(
      "cloudlet_vms_running",
      "microVMs alive now, from the start of their boot until they are gone",
      health->vms_running()));
  families.push_back(
      GaugeFamily("cloudlet_runs_running",
                  "Runs holding a VM slot now (preparing, booting or running)",
                  health->running_runs()));
  families.push_back(GaugeFamily("cloudlet_runs_queued",
                                 "Runs waiting for a VM slot now",
                                 health->queued_runs()));
  families.push_back(GaugeFamily("cloudlet_vm_slots",
                                 "Runs that may hold a VM at once (--max_vms)",
                                 health->max_vms()));
  families.push_back(GaugeFamily(
      "cloudlet_run_queue_capacity",
      "Runs that may wait for a VM slot (--max_queue)", health->max_queue()));
  families.push_back(ArtifactCounter(
      "cloudlet_artifact_cache_hits_total",
      "Guest artifact lookups that found the artifact in the cache, since "
      "the VMM started",
      *health, &v1::ArtifactState::cache_hits));
  families.push_back(ArtifactCounter(
      "cloudlet_artifact_builds_total",
      "Guest artifact builds that succeeded, since the VMM started", *health,
      &v1::ArtifactState::builds));
  families.push_back(ArtifactCounter(
      "cloudlet_artifact_build_failures_total",
      "Guest artifact builds that failed, since the VMM started", *health,
      &v1::ArtifactState::build_failures));
  if (health->has_build_cache()) {
    prometheus::MetricFamily lookups =
        Family("cloudlet_build_cache_lookups_total",
               "Runs that looked their build up in the VMM's build cache, by "
               "result (hit: the build was skipped; miss: it ran), since the "
               "VMM started",
               prometheus::MetricType::Counter);
    for (const auto& [result, count] :
         {std::pair<const char*, uint64_t>{"hit", health->build_cache().hits()},
          {"miss", health->build_cache().misses()}}) {
      prometheus::ClientMetric& metric = lookups.metric.emplace_back();
      metric.label.push_back({"result", result});
      metric.counter.value = static_cast<double>(count);
    }
    families.push_back(std::move(lookups));
    prometheus::MetricFamily stored =
        Family("cloudlet_build_cache_stored_total",
               "Builds the VMM kept in its build cache, since it started",
               prometheus::MetricType::Counter);
    stored.metric.emplace_back().counter.value =
        static_cast<double>(health->build_cache().stored());
    families.push_back(std::move(stored));
  }
  return families;
}

std::string ScrapeText(const prometheus::Registry& registry,
                       const absl::StatusOr<v1::VmmHealthResponse>& health) {
  std::vector<prometheus::MetricFamily> families = registry.Collect();
  for (prometheus::MetricFamily& family : VmmMetricFamilies(health)) {
    families.push_back(std::move(family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace cloudlet::api
