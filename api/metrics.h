#ifndef CLOUDLET_API_METRICS_H_
#define CLOUDLET_API_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent.pb.h"
#include "api/vmm/vmm_fleet.h"
#include "vmm.pb.h"

namespace cloudlet::api {

// Outcomes of runs that end without a Result reaching the API (runs with
// one are counted under OutcomeOf(result)).
// Refused before streaming: the VMM was full, shutting down, unreachable or
// rejected the request.
inline constexpr absl::string_view kOutcomeRejected = "rejected";
// The client went away before the Result; the API cancelled the run.
inline constexpr absl::string_view kOutcomeCancelled = "cancelled";
// The VMM's stream broke (or ended) without a Result.
inline constexpr absl::string_view kOutcomeStreamError = "stream_error";

// "done" for a Result with status DONE (whatever the exit code), otherwise
// the reason's name: "build_failed", "timeout", "cancelled", "vm_died", ...
std::string OutcomeOf(const v1::Result& result);

// The metrics the API records itself, registered in a registry its owner
// holds (and serves, see ScrapeText):
//   cloudlet_runs_total{language,outcome}                   counter
//   cloudlet_run_stage_duration_seconds{language,stage}     histogram
//     stage: prepare, queue, boot, build, run, total (the Result's timings;
//     a stage the run did not go through is not observed)
//   cloudlet_api_streams_active                             gauge
//   cloudlet_function_invocations_total{function}           counter
// Thread-safe: the methods may be called from any HTTP worker thread. The
// registry must outlive this object.
class ApiMetrics {
 public:
  explicit ApiMetrics(prometheus::Registry& registry);
  ApiMetrics(const ApiMetrics&) = delete;
  ApiMetrics& operator=(const ApiMetrics&) = delete;

  // Counts a run of `language` that ended with `result` and observes each
  // of its timings that is set.
  void RecordResult(v1::Language language, const v1::Result& result);
  // Counts a run of `language` that ended without a Result, under
  // `outcome` (one of the kOutcome* above).
  void RecordOutcome(v1::Language language, absl::string_view outcome);
  // Counts one invocation of the function `name`.
  void RecordInvocation(absl::string_view name);
  // Sets the number of Run streams open now (set at scrape time).
  void SetActiveStreams(int streams);

  // Upper bounds, in seconds, of the duration histograms' buckets: 10 ms to
  // 10 min.
  static const std::vector<double>& DurationBuckets();

 private:
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Gauge& streams_active_;
  prometheus::Family<prometheus::Counter>& invocations_;
};

// The VMMs' state as metric families, built at scrape time from each
// one's Health answer (so that the VMMs keep the numbers and the API keeps
// no copy). Every sample but the first carries vmm="ADDRESS":
//   cloudlet_vmms_ready                              gauge (no vmm label)
//   cloudlet_vmm_up                                  gauge, 1 or 0
// and, for each VMM that answered:
//   cloudlet_vms_running                             gauge
//   cloudlet_runs_running                            gauge (hold a VM slot)
//   cloudlet_runs_queued                             gauge
//   cloudlet_vm_slots                                gauge (--max_vms)
//   cloudlet_run_queue_capacity                      gauge (--max_queue)
//   cloudlet_vmm_runs_accepted_total                 counter
//   cloudlet_artifact_cache_hits_total{artifact}     counter
//   cloudlet_artifact_builds_total{artifact}         counter
//   cloudlet_artifact_build_failures_total{artifact} counter
//   cloudlet_build_cache_lookups_total{result}       counter (with a cache)
//   cloudlet_build_cache_stored_total                counter (with a cache)
// The counters restart from zero when a VMM restarts, which Prometheus
// treats as a counter reset.
std::vector<prometheus::MetricFamily> VmmMetricFamilies(
    const FleetProbe& fleet);

// The Prometheus text exposition format (0.0.4) of what `registry` holds
// followed by VmmMetricFamilies(fleet).
std::string ScrapeText(const prometheus::Registry& registry,
                       const FleetProbe& fleet);

// The Content-Type of ScrapeText's answer.
inline constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_METRICS_H_
