#include "vmm/run/event_relay.h"

#include <utility>

#include "common/workload_names.h"
#include "spdlog/spdlog.h"
#include "vmm/run/proto_time.h"

namespace cloudlet::vmm {
namespace {

int64_t Ms(const google::protobuf::Duration& duration) {
  return absl::ToInt64Milliseconds(FromProtoDuration(duration));
}

}  // namespace

EventRelay::EventRelay(std::string run_id, const Clock* clock,
                       absl::Time started, RunEventSink* sink)
    : run_id_(std::move(run_id)),
      clock_(clock),
      started_(started),
      sink_(sink) {}

int64_t EventRelay::ElapsedMs() const {
  return absl::ToInt64Milliseconds(clock_->Now() - started_);
}

void EventRelay::Send(const v1::RunEvent& event) {
  if (finished_) return;
  if (!sink_->Send(event)) {
    spdlog::debug("run={} event=send_failed (caller gone)", run_id_);
  }
}

void EventRelay::Accepted() {
  v1::RunEvent event;
  event.mutable_accepted()->set_run_id(run_id_);
  spdlog::info("run={} event=accepted ms={}", run_id_, ElapsedMs());
  Send(event);
}

void EventRelay::Progress(const v1::Progress& progress) {
  v1::RunEvent event;
  *event.mutable_progress() = progress;
  spdlog::info("run={} event=progress artifact={} cached={} ms={} msg=\"{}\"",
               run_id_, progress.artifact(), progress.cached(), ElapsedMs(),
               progress.message());
  Send(event);
}

void EventRelay::Stage(v1::Stage stage, absl::string_view detail) {
  stage_ = stage;
  v1::RunEvent event;
  event.mutable_stage()->set_stage(stage);
  event.mutable_stage()->set_detail(std::string(detail));
  spdlog::info("run={} event=stage stage={} ms={} detail=\"{}\"", run_id_,
               StageName(stage), ElapsedMs(), std::string(detail));
  Send(event);
}

void EventRelay::Booted(absl::string_view accel, absl::Duration boot_time,
                        uint32_t memory_mib, uint32_t vcpus, bool resumed) {
  vm_resumed_ = resumed;
  vm_ready_ = clock_->Now() - started_;
  v1::RunEvent event;
  v1::VmBooted* booted = event.mutable_booted();
  booted->set_resumed(resumed);
  booted->set_accel(std::string(accel));
  *booted->mutable_boot_time() = ToProtoDuration(boot_time);
  booted->set_memory_mib(memory_mib);
  booted->set_vcpus(vcpus);
  spdlog::info("run={} event=booted accel={} resumed={} boot_ms={} "
               "memory_mib={} vcpus={} ms={}",
               run_id_, std::string(accel), resumed,
               absl::ToInt64Milliseconds(boot_time), memory_mib, vcpus,
               ElapsedMs());
  Send(event);
}

void EventRelay::FromAgent(const v1::ExecuteEvent& event) {
  v1::RunEvent out;
  switch (event.event_case()) {
    case v1::ExecuteEvent::kAccepted:
      return;  // the caller already has the VMM's Accepted
    case v1::ExecuteEvent::kResult:
      agent_result_ = event.result();
      return;
    case v1::ExecuteEvent::kStage:
      stage_ = event.stage().stage();
      spdlog::info("run={} event=stage stage={} ms={} detail=\"{}\"", run_id_,
                   StageName(stage_), ElapsedMs(), event.stage().detail());
      *out.mutable_stage() = event.stage();
      break;
    case v1::ExecuteEvent::kOutput:
      spdlog::debug("run={} event=output stage={} stream={} bytes={}", run_id_,
                   StageName(event.output().stage()),
                   event.output().stream() == v1::STDERR ? "stderr" : "stdout",
                   event.output().data().size());
      *out.mutable_output() = event.output();
      break;
    case v1::ExecuteEvent::kBuilt:  // the VMM's (the runner keeps it)
    case v1::ExecuteEvent::EVENT_NOT_SET:
      return;
  }
  Send(out);
}

void EventRelay::FinishWithAgentResult() {
  if (!agent_result_) {
    Fail(v1::INTERNAL_ERROR, "the agent ended the run without a result");
    return;
  }
  // The stream closes with the final stage, whether the agent said it or
  // not.
  if (stage_ != v1::DONE && stage_ != v1::FAILED) {
    Stage(agent_result_->status() == v1::DONE ? v1::DONE : v1::FAILED,
          agent_result_->message());
  }
  SendResult(*agent_result_);
}

void EventRelay::Fail(v1::Reason reason, absl::string_view message,
                      absl::string_view console_tail) {
  if (finished_) return;
  v1::Stage ended_in = stage_;
  Stage(v1::FAILED, message);
  v1::Result result;
  if (agent_result_) result = *agent_result_;
  result.set_status(v1::FAILED);
  result.set_ended_in(ended_in);
  result.set_reason(reason);
  result.set_message(std::string(message));
  if (!console_tail.empty()) result.set_console_tail(std::string(console_tail));
  SendResult(std::move(result));
}

void EventRelay::SendResult(v1::Result result) {
  if (finished_) return;
  v1::Timings* timings = result.mutable_timings();
  if (timings_.prepare) *timings->mutable_prepare() = ToProtoDuration(*timings_.prepare);
  if (timings_.queue) *timings->mutable_queue() = ToProtoDuration(*timings_.queue);
  if (timings_.boot) *timings->mutable_boot() = ToProtoDuration(*timings_.boot);
  *timings->mutable_total() = ToProtoDuration(clock_->Now() - started_);
  if (vm_ready_) {
    v1::Telemetry* telemetry = result.mutable_telemetry();
    telemetry->set_vm_resumed(vm_resumed_);
    *telemetry->mutable_vm_ready() = ToProtoDuration(*vm_ready_);
  }

  std::string termination;
  if (result.termination_case() == v1::Result::kExitCode) {
    termination = fmt::format(" exit_code={}", result.exit_code());
  } else if (result.termination_case() == v1::Result::kSignal) {
    termination = fmt::format(" signal={}", result.signal());
  }
  spdlog::info(
      "run={} event=result status={} reason={} ended_in={}{} prepare_ms={} "
      "queue_ms={} boot_ms={} build_ms={} run_ms={} ms={}",
      run_id_, StageName(result.status()), ReasonName(result.reason()),
      StageName(result.ended_in()), termination, Ms(timings->prepare()),
      Ms(timings->queue()), Ms(timings->boot()), Ms(timings->build()),
      Ms(timings->run()), Ms(timings->total()));
  spdlog::debug("run={} event=result_message msg=\"{}\"", run_id_,
               result.message());

  v1::RunEvent event;
  *event.mutable_result() = std::move(result);
  Send(event);
  finished_ = true;
}

}  // namespace cloudlet::vmm
