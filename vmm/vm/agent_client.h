#ifndef CLOUDLET_VMM_VM_AGENT_CLIENT_H_
#define CLOUDLET_VMM_VM_AGENT_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/sync/cancel.h"
#include "agent.grpc.pb.h"

namespace cloudlet::vmm {

// A client of one agent (in a VM, or on the host in tests).
// Thread-safe: one client may serve several calls at once.
class AgentClient {
 public:
  // `target` is "127.0.0.1:PORT". Never blocks.
  explicit AgentClient(const std::string& target);

  // Polls Health with short per-attempt deadlines until it answers,
  // `deadline` passes (DeadlineExceeded), or `give_up` is cancelled
  // (Unavailable: e.g. QEMU exited). Each attempt uses a fresh
  // connection: QEMU's forwarded port accepts TCP before the guest listens
  // and such a connection may stall, so only a gRPC answer counts. Never a
  // fixed sleep. The connection that answered then serves Execute.
  absl::Status WaitUntilHealthy(absl::Time deadline,
                                const CancelToken& give_up);

  // Runs Execute, calling `on_event` for every event as it arrives, on the
  // calling thread. `context` lets another thread cancel (TryCancel) and
  // carries the deadline. Returns OK as soon as the Result event has been
  // handled (the call is then cancelled: the agent's clean-up after it is
  // not waited for), else the call's final status.
  absl::Status Execute(grpc::ClientContext& context,
                       const v1::ExecuteRequest& request,
                       const std::function<void(const v1::ExecuteEvent&)>& on_event);

  const std::string& target() const { return target_; }

 private:
  std::shared_ptr<v1::WorkloadRunner::Stub> stub() const;

  const std::string target_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<v1::WorkloadRunner::Stub> stub_ ABSL_GUARDED_BY(mutex_);
  // The channels of Health attempts that did not answer, kept until the
  // client goes (with its VM). gRPC 1.51 leaks the socket of a connection
  // that completes after its channel was destroyed (the subchannel drops
  // the finished transport without destroying it), which is what a stalled
  // attempt's connection does once the guest listens.
  std::vector<std::shared_ptr<v1::WorkloadRunner::Stub>> unanswered_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_VM_AGENT_CLIENT_H_
