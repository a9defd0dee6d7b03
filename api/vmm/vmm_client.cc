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
      control_stub_(v1::VmmService::NewStub(control_channel_)),
      fleet_(options_.target, options_.security) {
  // Connect all now, so that the first run does not wait for a handshake
  // and, on the runs' channel, a first health check.
  runs_channel_->GetState(/*try_to_connect=*/true);
  control_channel_->GetState(/*try_to_connect=*/true);
  fleet_.Connect();
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
  // The runs' channel already waited connect_timeout, and the fleet's
  // channels are connected (since construction): a VMM that is up answers
  // at once, one that is down never does.
  const FleetProbe fleet = fleet_.Probe(absl::Milliseconds(300));
  const v1::VmmHealthResponse* full = nullptr;
  bool answered = false;
  for (const VmmProbe& vmm : fleet.vmms) {
    if (!vmm.health.ok()) continue;
    answered = true;
    if (vmm.health->shutting_down()) continue;
    const bool has_room = vmm.health->running_runs() < vmm.health->max_vms() ||
                          vmm.health->queued_runs() < vmm.health->max_queue();
    if (has_room) {
      // Up and with room: the runs' channel is still waiting for its first
      // health check (slow on a loaded host). Give it another moment.
      if (WaitUntilReachable(*runs_channel_, options_.connect_timeout).ok()) {
        return absl::OkStatus();
      }
      return absl::UnavailableError(absl::StrCat(
          "the VMM at ", vmm.address,
          " answers but its grpc.health.v1 check does not say SERVING"));
    }
    full = &*vmm.health;
  }
  if (!answered) return unreachable;  // none answers at all
  if (full == nullptr) {
    return absl::UnavailableError(
        "the VMMs are shutting down and take no new runs");
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "every VMM is busy (one reports ", full->running_runs(), " of ",
      full->max_vms(), " VM slots in use and ", full->queued_runs(), " of ",
      full->max_queue(), " queue places taken); try again later"));
}

}  // namespace cloudlet::api
