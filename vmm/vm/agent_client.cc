#include "vmm/vm/agent_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/grpc_status.h"
#include "common/run_limits.h"
#include "spdlog/spdlog.h"

namespace cloudlet::vmm {
namespace {

// Long enough for a Health answer from a busy TCG guest, short enough that a
// connection which stalled before the guest listened is given up quickly.
constexpr absl::Duration kHealthAttemptTimeout = absl::Milliseconds(1000);
constexpr absl::Duration kMaxHealthAttemptTimeout = absl::Seconds(5);

grpc::ChannelArguments ChannelArgs(bool private_connection) {
  grpc::ChannelArguments args;
  // The agent is local: after a refused connection (the guest is up but
  // its agent does not listen yet), retry within tens of milliseconds
  // instead of gRPC's 1 s..120 s, so readiness is seen soon after it
  // happens. (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is left alone: gRPC also
  // takes it as the connect timeout, and a busy TCG guest may need seconds
  // to send its first HTTP/2 frame.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 50);
  // A `built` event carries a whole compiled program.
  args.SetMaxReceiveMessageSize(static_cast<int>(kMaxBuiltProgramBytes) +
                                (1 << 20));
  if (private_connection) {
    // Do not share (and so inherit the state of) another channel's
    // connection to the same address.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  }
  return args;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           bool private_connection) {
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   ChannelArgs(private_connection));
}

void SetDeadline(grpc::ClientContext& context, absl::Time deadline) {
  context.set_deadline(absl::ToChronoTime(deadline));
}

}  // namespace

AgentClient::AgentClient(const std::string& target)
    : target_(target),
      stub_(v1::WorkloadRunner::NewStub(
          MakeChannel(target, /*private_connection=*/true))) {}

std::shared_ptr<v1::WorkloadRunner::Stub> AgentClient::stub() const {
  absl::MutexLock lock(&mutex_);
  return stub_;
}

absl::Status AgentClient::WaitUntilHealthy(
    absl::Time deadline, const CancelToken& give_up) {
  absl::Duration pause = absl::Milliseconds(20);
  absl::Duration attempt_timeout = kHealthAttemptTimeout;
  grpc::Status last;
  for (int attempt = 1;; ++attempt) {
    if (give_up.cancelled()) {
      return absl::UnavailableError(absl::StrCat(
          "stopped waiting for the agent at ", target_, " after ", attempt - 1,
          " attempts"));
    }
    absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the agent at ", target_, " did not answer Health in time (",
          attempt - 1, " attempts; last: ", last.error_message(), ")"));
    }
    // A fresh channel per attempt: its connection is new, not one that
    // stalled in QEMU's slirp before the guest listened.
    std::shared_ptr<v1::WorkloadRunner::Stub> stub =
        v1::WorkloadRunner::NewStub(
            MakeChannel(target_, /*private_connection=*/true));
    grpc::ClientContext context;
    SetDeadline(context, std::min(deadline, now + attempt_timeout));
    context.set_wait_for_ready(true);
    v1::AgentHealthRequest request;
    v1::AgentHealthResponse response;
    last = stub->Health(&context, request, &response);
    if (last.ok()) {
      spdlog::debug("agent={} event=healthy attempts={}", target_, attempt);
      // The connection that answered serves the calls that follow.
      absl::MutexLock lock(&mutex_);
      stub_ = std::move(stub);
      return absl::OkStatus();
    }
    {
      absl::MutexLock lock(&mutex_);
      unanswered_.push_back(std::move(stub));
    }
    if (last.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      // Maybe a stalled connection, maybe a guest too busy to answer in
      // time: give the next attempt longer.
      attempt_timeout = std::min(attempt_timeout * 3 / 2, kMaxHealthAttemptTimeout);
    }
    // Failures that the wait-for-ready call returned at once (e.g. a reset
    // connection) get a short pause before the next attempt.
    absl::Duration left = deadline - absl::Now();
    if (left > absl::ZeroDuration() && absl::Now() - now < pause) {
      absl::SleepFor(std::min(pause, left));
      pause = std::min(pause * 2, absl::Milliseconds(200));
    }
  }
}

absl::Status AgentClient::Execute(
    grpc::ClientContext& context, const v1::ExecuteRequest& request,
    const std::function<void(const v1::ExecuteEvent&)>& on_event) {
  std::unique_ptr<grpc::ClientReader<v1::ExecuteEvent>> reader =
      stub()->Execute(&context, request);
  v1::ExecuteEvent event;
  while (reader->Read(&event)) {
    if (on_event) on_event(event);
    if (event.has_result()) {
      // The Result is the agent's last word; what it does after sending it
      // is clean-up, which a caller about to destroy the VM need not wait
      // for.
      context.TryCancel();
      (void)reader->Finish();
      return absl::OkStatus();
    }
  }
  return FromGrpcStatus(reader->Finish());
}

}  // namespace cloudlet::vmm
