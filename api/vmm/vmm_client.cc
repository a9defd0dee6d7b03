#include "api/vmm/vmm_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/vmm/vmm_channel.h"
#include "common/rpc/grpc_status.h"

namespace cloudlet::api {
namespace {

// The runs' channel: calls go round robin over every address the target
// resolves to (`ipv4:a:1,b:2`, `dns:///vmms.svc:50052`, or one address),
// only to VMMs whose grpc.health.v1 status is SERVING (a VMM is
// NOT_SERVING while its slots and queue are full or it shuts down), and a
// Run refused as busy or unreachable is tried again on the next VMM. gRPC
// retries a call only until it is committed, which for the Run stream is
// its first event (Accepted): an accepted run is never run twice.
constexpr char kRunsServiceConfig[] = R"json({
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": "cloudlet.v1.VmmService"},
  "methodConfig": [{
    "name": [{"service": "cloudlet.v1.VmmService", "method": "Run"}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.05s",
      "maxBackoff": "0.5s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]
    }
  }]
})json";
// The control channel (Health, Shutdown): round robin over the same VMMs,
// busy ones included, so that a full VMM still reports itself.
constexpr char kControlServiceConfig[] =
    R"json({"loadBalancingConfig": [{"round_robin": {}}]})json";

}  // namespace

absl::string_view RunsServiceConfig() { return kRunsServiceConfig; }

RunStream::~RunStream() {
  Cancel();
  if (reader_.joinable()) reader_.join();
}

RunStream::Next RunStream::WaitForNext(absl::Duration timeout,
                                       v1::RunEvent* event) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (events_.empty() && !final_status_.has_value() &&
         !changed_.WaitWithDeadline(&mu_, deadline)) {
  }
  if (!events_.empty()) {
    *event = std::move(events_.front());
    events_.pop_front();
    return Next::kEvent;
  }
  return final_status_.has_value() ? Next::kFinished : Next::kTimedOut;
}

absl::Status RunStream::status() const {
  absl::MutexLock lock(&mu_);
  return final_status_.value_or(
      absl::FailedPreconditionError("the Run call has not finished"));
}

void RunStream::Cancel() { context_.TryCancel(); }

void RunStream::ReadAll(
    std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader) {
  v1::RunEvent event;
  while (reader->Read(&event)) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
    changed_.Signal();
    event.Clear();
  }
  absl::Status status = FromGrpcStatus(reader->Finish());
  absl::MutexLock lock(&mu_);
  final_status_ = std::move(status);
  changed_.SignalAll();
}

VmmClient::VmmClient(VmmClientOptions options)
    : options_(std::move(options)),
      runs_channel_(MakeVmmChannel(options_.target, kRunsServiceConfig,
                                   options_.security)),
      runs_stub_(v1::VmmService::NewStub(runs_channel_)),
      control_channel_(MakeVmmChannel(options_.target, kControlServiceConfig,
                                      options_.security)),
      control_stub_(v1::VmmService::NewStub(control_channel_)) {
  // Connect both now, so that the first run does not wait for a handshake
  // and, on the runs' channel, a first health check.
  runs_channel_->GetState(/*try_to_connect=*/true);
  control_channel_->GetState(/*try_to_connect=*/true);
}

absl::Status VmmClient::WaitUntilReachable(grpc::Channel& channel,
                                           absl::Duration timeout) {
  if (channel.WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "the VMM at ", options_.target, " did not answer within ",
      absl::FormatDuration(timeout), "; is cloudlet-vmm running?"));
}

absl::StatusOr<v1::VmmHealthResponse> VmmClient::Health(
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (absl::Status s = WaitUntilReachable(*control_channel_, timeout);
      !s.ok()) {
    return s;
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  v1::VmmHealthResponse response;
  grpc::Status status =
      control_stub_->Health(&context, v1::VmmHealthRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::ShutdownResponse> VmmClient::Shutdown(
    const v1::ShutdownRequest& request) {
  if (absl::Status s =
          WaitUntilReachable(*control_channel_, options_.connect_timeout);
      !s.ok()) {
    return s;
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  v1::ShutdownResponse response;
  grpc::Status status =
      control_stub_->Shutdown(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<std::unique_ptr<RunStream>> VmmClient::StartRun(
    const v1::RunRequest& request) {
  control_channel_->GetState(/*try_to_connect=*/true);
  if (absl::Status s =
          WaitUntilReachable(*runs_channel_, options_.connect_timeout);
      !s.ok()) {
    if (absl::Status why = WhyNoVmmServes(s); !why.ok()) return why;
  }
  std::unique_ptr<RunStream> stream(new RunStream());
  stream->context_.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.run_deadline));
  std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader =
      runs_stub_->Run(&stream->context_, request);
  stream->reader_ = std::thread(
      [s = stream.get(), r = std::move(reader)]() mutable {
        s->ReadAll(std::move(r));
      });
  return stream;
}

absl::Status VmmClient::WhyNoVmmServes(absl::Status unreachable) {
  // The runs' channel already waited connect_timeout, and the control
  // channel connected meanwhile (StartRun asked it to): a VMM that is up
  // answers at once, one that is down never does.
  absl::StatusOr<v1::VmmHealthResponse> health =
      Health(absl::Milliseconds(300));
  if (!health.ok()) return unreachable;  // none answers at all
  if (health->shutting_down()) {
    return absl::UnavailableError(
        "the VMM is shutting down and takes no new runs");
  }
  const bool has_room = health->running_runs() < health->max_vms() ||
                        health->queued_runs() < health->max_queue();
  if (has_room) {
    // Up and with room: the runs' channel is still waiting for its first
    // health check (slow on a loaded host). Give it another moment.
    if (WaitUntilReachable(*runs_channel_, options_.connect_timeout).ok()) {
      return absl::OkStatus();
    }
    return absl::UnavailableError(absl::StrCat(
        "the VMM at ", options_.target,
        " answers but its grpc.health.v1 check does not say SERVING"));
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "every VMM is busy (one reports ", health->running_runs(), " of ",
      health->max_vms(), " VM slots in use and ", health->queued_runs(),
      " of ", health->max_queue(), " queue places taken); try again later"));
}

}  // namespace cloudlet::api
