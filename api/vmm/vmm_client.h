#ifndef CLOUDLET_API_VMM_VMM_CLIENT_H_
#define CLOUDLET_API_VMM_VMM_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/vmm/vmm_channel.h"
#include "api/vmm/vmm_fleet.h"
#include "vmm.grpc.pb.h"

namespace cloudlet::api {

struct VmmClientOptions {
  std::string target = "127.0.0.1:50051";
  VmmChannelSecurity security;  // plaintext by default
  // How long a call may wait for the VMM to be reachable before it fails
  // with UNAVAILABLE (the API then answers 503 instead of hanging).
  absl::Duration connect_timeout = absl::Seconds(1);
  // Deadline of Shutdown (a run's Health check has its own, shorter one).
  absl::Duration call_timeout = absl::Seconds(5);
  // Deadline of a whole Run stream: a backstop only; runs end by their own
  // timeout, and cancellation ends them at once.
  absl::Duration run_deadline = absl::Hours(2);
};

// The service config of the channel runs go over: round_robin over the
// VMMs whose grpc.health.v1 status is SERVING, and retries of a Run
// refused before it was accepted (vmm_client.cc says why each).
absl::string_view RunsServiceConfig();

// One VmmService.Run call. A background thread reads events into a queue as
// they arrive, so the HTTP side can wait for the next one with a timeout
// (and meanwhile notice that its client went away). Thread-safe.
class RunStream {
 public:
  enum class Next { kEvent, kFinished, kTimedOut };

  RunStream(const RunStream&) = delete;
  RunStream& operator=(const RunStream&) = delete;
  // Cancels the call if it is still running and joins the reader thread.
  ~RunStream();

  // Waits up to `timeout` for the next event. kEvent: `*event` is set.
  // kFinished: no event is left and the call is over; see status().
  Next WaitForNext(absl::Duration timeout, v1::RunEvent* event);

  // The call's final status; meaningful after WaitForNext returned
  // kFinished.
  absl::Status status() const;

  // Cancels the call (the VMM then kills the run's VM). Idempotent; returns
  // at once, the reader thread sees the cancellation shortly after.
  void Cancel();

 private:
  friend class VmmClient;
  RunStream() = default;
  void ReadAll(std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader);

  grpc::ClientContext context_;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::deque<v1::RunEvent> events_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> final_status_ ABSL_GUARDED_BY(mu_);
  absl::CondVar changed_;  // signalled on a new event and at the end
};

// A client of the VMM's gRPC service. Every call has a deadline. Thread-safe;
// one instance serves all of the API's requests.
class VmmClient {
 public:
  explicit VmmClient(VmmClientOptions options);

  const std::string& target() const { return options_.target; }
  // Each VMM of the target, one by one (/healthz, /metrics).
  VmmFleet& fleet() { return fleet_; }

  // Unavailable (naming the target) when no VMM can be reached within
  // connect_timeout; otherwise the call's own status. (Each VMM's Health is
  // VmmFleet's.)
  absl::StatusOr<v1::ShutdownResponse> Shutdown(
      const v1::ShutdownRequest& request);

  // Starts a Run call once the VMM is reachable (Unavailable otherwise,
  // after at most connect_timeout). Errors the VMM reports for the request
  // itself (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, ...) come out of the
  // returned stream as its final status.
  absl::StatusOr<std::unique_ptr<RunStream>> StartRun(
      const v1::RunRequest& request);

 private:
  // Unavailable when `channel` has no VMM to call within `timeout`.
  absl::Status WaitUntilReachable(grpc::Channel& channel,
                                  absl::Duration timeout);
  // Why the runs' channel has no VMM, from every VMM's Health:
  // ResourceExhausted when those that answer are all full, Unavailable
  // when they all shut down, else `unreachable`. OK when one with room
  // answers and the runs' channel becomes ready within another
  // connect_timeout (its first health check was late).
  absl::Status WhyNoVmmServes(absl::Status unreachable);

  VmmClientOptions options_;
  // Runs: health-checked round robin with retries before acceptance.
  std::shared_ptr<grpc::Channel> runs_channel_;
  std::unique_ptr<v1::VmmService::Stub> runs_stub_;
  // Shutdown: every VMM, busy or not.
  std::shared_ptr<grpc::Channel> control_channel_;
  std::unique_ptr<v1::VmmService::Stub> control_stub_;
  VmmFleet fleet_;
};

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_VMM_VMM_CLIENT_H_
