#include "agent/service/agent_service.h"

#include "absl/time/time.h"
#include "agent/execution/event_sink.h"
#include "agent/guest/guest_sync.h"
#include "common/rpc/grpc_status.h"
#include "spdlog/spdlog.h"

namespace cloudlet::agent {
namespace {

// Events go to the call's stream; the call's cancellation is the
// receiver going away.
class StreamSink final : public EventSink {
 public:
  StreamSink(grpc::ServerContext& context,
             grpc::ServerWriter<v1::ExecuteEvent>& writer)
      : context_(context), writer_(writer) {}

  bool Send(const v1::ExecuteEvent& event) override {
    return writer_.Write(event);
  }
  bool ReceiverGone() override { return context_.IsCancelled(); }

 private:
  grpc::ServerContext& context_;
  grpc::ServerWriter<v1::ExecuteEvent>& writer_;
};

// Hands the guest the host's clock and entropy from `request`, each only
// when set. Best effort: the agent may run unprivileged (host-side tests),
// so a failure is logged and the run goes on.
void ApplyHostState(const v1::ExecuteRequest& request) {
  const std::string& run_id = request.run_id();
  if (request.has_host_time()) {
    absl::Time host_time =
        absl::FromUnixSeconds(request.host_time().seconds()) +
        absl::Nanoseconds(request.host_time().nanos());
    absl::Duration step = host_time - absl::Now();
    if (absl::Status s = ApplyHostTime(host_time); !s.ok()) {
      spdlog::warn("run={} event=host_time_not_applied error=\"{}\"", run_id,
                   std::string(s.message()));
    } else {
      spdlog::debug("run={} event=guest_clock_set step_ms={}", run_id,
                    absl::ToInt64Milliseconds(step));
    }
  }
  if (!request.host_entropy().empty()) {
    if (absl::Status s = MixHostEntropy(request.host_entropy()); !s.ok()) {
      spdlog::warn("run={} event=host_entropy_not_mixed error=\"{}\"", run_id,
                   std::string(s.message()));
    }
  }
}

}  // namespace

grpc::Status AgentService::Execute(
    grpc::ServerContext* context, const v1::ExecuteRequest* request,
    grpc::ServerWriter<v1::ExecuteEvent>* writer) {
  absl::StatusOr<PreparedRun> run = executor_.Prepare(*request);
  if (!run.ok()) {
    spdlog::info("run={} event=rejected code={} message=\"{}\"",
                 request->run_id(),
                 absl::StatusCodeToString(run.status().code()),
                 std::string(run.status().message()));
    return ToGrpcStatus(run.status());
  }
  absl::StatusOr<RunRegistry::Registration> registration =
      registry_.Register(run->request.run_id());
  if (!registration.ok()) {
    spdlog::info("run={} event=rejected code={} message=\"{}\"",
                 run->request.run_id(),
                 absl::StatusCodeToString(registration.status().code()),
                 std::string(registration.status().message()));
    return ToGrpcStatus(registration.status());
  }
  // After the registration, so that a rejected request changes nothing;
  // before Run, whose deadline and timings read the clock set here.
  if (accept_host_state_) ApplyHostState(run->request);
  StreamSink sink(*context, *writer);
  executor_.Run(*run, registration->control(), sink);
  return grpc::Status::OK;
}

grpc::Status AgentService::Signal(grpc::ServerContext* context,
                                  const v1::SignalRequest* request,
                                  v1::SignalResponse* response) {
  absl::Status status = registry_.Signal(request->run_id(), request->signal());
  spdlog::info("run={} event=signal signal={} result={}", request->run_id(),
               request->signal(), absl::StatusCodeToString(status.code()));
  return ToGrpcStatus(status);
}

grpc::Status AgentService::Health(grpc::ServerContext* context,
                                  const v1::AgentHealthRequest* request,
                                  v1::AgentHealthResponse* response) {
  response->set_serving(registry_.accepting());
  response->set_version(CLOUDLET_VERSION);
  response->set_active_runs(static_cast<uint32_t>(registry_.active_runs()));
  return grpc::Status::OK;
}

}  // namespace cloudlet::agent
