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

// The VMM families, in the order they are reported. Each gets one sample
// per VMM (labelled vmm="ADDRESS"), and per artifact or result where it
// says so.
class VmmFamilies {
 public:
  prometheus::MetricFamily& Get(const std::string& name, const char* help,
                                prometheus::MetricType type) {
    for (prometheus::MetricFamily& family : families_) {
      if (family.name == name) return family;
    }
    return families_.emplace_back(Family(name, help, type));
  }
  prometheus::ClientMetric& Sample(const std::string& name, const char* help,
                                   prometheus::MetricType type,
                                   const std::string& vmm) {
    prometheus::ClientMetric& metric = Get(name, help, type).metric.emplace_back();
    metric.label.push_back({"vmm", vmm});
    return metric;
  }
  void Gauge(const std::string& name, const char* help,
             const std::string& vmm, double value) {
    Sample(name, help, prometheus::MetricType::Gauge, vmm).gauge.value = value;
  }
  // One sample per artifact, taken from `field`.
  void ArtifactCounter(const std::string& name, const char* help,
                       const std::string& vmm,
                       const v1::VmmHealthResponse& health,
                       uint64_t (v1::ArtifactState::*field)() const) {
    Get(name, help, prometheus::MetricType::Counter);
    for (const v1::ArtifactState& artifact : health.artifacts()) {
      prometheus::ClientMetric& metric =
          Sample(name, help, prometheus::MetricType::Counter, vmm);
      metric.label.push_back({"artifact", artifact.name()});
      metric.counter.value = static_cast<double>((artifact.*field)());
    }
  }
  std::vector<prometheus::MetricFamily> Take() { return std::move(families_); }

 private:
  std::vector<prometheus::MetricFamily> families_;
};

void AddVmm(const std::string& vmm, const v1::VmmHealthResponse& health,
            VmmFamilies& out) {
  out.Gauge("cloudlet_vms_running",
            "microVMs alive now, from the start of their boot until they are "
            "gone",
            vmm, health.vms_running());
  out.Gauge("cloudlet_runs_running",
            "Runs holding a VM slot now (preparing, booting or running)", vmm,
            health.running_runs());
  out.Gauge("cloudlet_runs_queued", "Runs waiting for a VM slot now", vmm,
            health.queued_runs());
  out.Gauge("cloudlet_vm_slots", "Runs that may hold a VM at once (--max_vms)",
            vmm, health.max_vms());
  out.Gauge("cloudlet_run_queue_capacity",
            "Runs that may wait for a VM slot (--max_queue)", vmm,
            health.max_queue());
  prometheus::ClientMetric& accepted = out.Sample(
      "cloudlet_vmm_runs_accepted_total",
      "Runs the VMM accepted since it started", prometheus::MetricType::Counter,
      vmm);
  accepted.counter.value = static_cast<double>(health.runs_accepted());
  out.ArtifactCounter("cloudlet_artifact_cache_hits_total",
                      "Guest artifact lookups that found the artifact in the "
                      "cache, since the VMM started",
                      vmm, health, &v1::ArtifactState::cache_hits);
  out.ArtifactCounter("cloudlet_artifact_builds_total",
                      "Guest artifact builds that succeeded, since the VMM "
                      "started",
                      vmm, health, &v1::ArtifactState::builds);
  out.ArtifactCounter("cloudlet_artifact_build_failures_total",
                      "Guest artifact builds that failed, since the VMM "
                      "started",
                      vmm, health, &v1::ArtifactState::build_failures);
  if (!health.has_build_cache()) return;
  for (const auto& [result, count] :
       {std::pair<const char*, uint64_t>{"hit", health.build_cache().hits()},
        {"miss", health.build_cache().misses()}}) {
    prometheus::ClientMetric& metric = out.Sample(
        "cloudlet_build_cache_lookups_total",
        "Runs that looked their build up in the VMM's build cache, by result "
        "(hit: the build was skipped; miss: it ran), since the VMM started",
        prometheus::MetricType::Counter, vmm);
    metric.label.push_back({"result", result});
    metric.counter.value = static_cast<double>(count);
  }
  out.Sample("cloudlet_build_cache_stored_total",
             "Builds the VMM kept in its build cache, since it started",
             prometheus::MetricType::Counter, vmm)
      .counter.value = static_cast<double>(health.build_cache().stored());
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
    const FleetProbe& fleet) {
  VmmFamilies out;
  prometheus::MetricFamily& ready = out.Get(
      "cloudlet_vmms_ready",
      "VMMs behind --vmm_target that answered the scrape and are not "
      "shutting down",
      prometheus::MetricType::Gauge);
  ready.metric.emplace_back().gauge.value = fleet.ready();
  for (const VmmProbe& vmm : fleet.vmms) {
    out.Gauge("cloudlet_vmm_up",
              "1 when the VMM answered the scrape's Health call, else 0 (and "
              "no other metric of it is reported)",
              vmm.address, vmm.health.ok() ? 1 : 0);
  }
  for (const VmmProbe& vmm : fleet.vmms) {
    if (vmm.health.ok()) AddVmm(vmm.address, *vmm.health, out);
  }
  return out.Take();
}

std::string ScrapeText(const prometheus::Registry& registry,
                       const FleetProbe& fleet) {
  std::vector<prometheus::MetricFamily> families = registry.Collect();
  for (prometheus::MetricFamily& family : VmmMetricFamilies(fleet)) {
    families.push_back(std::move(family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace cloudlet::api
