#ifndef CLOUDLET_VMM_RUN_CANCELLATION_H_
#define CLOUDLET_VMM_RUN_CANCELLATION_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent.pb.h"
#include "common/sync/cancel.h"

namespace cloudlet::vmm {

// Why a run was stopped from outside: the caller went away, its time ran
// out, its VM died, the VMM shuts down.
struct CancelCause {
  v1::Reason reason = v1::CANCELLED;
  std::string message;  // one line a user can act on
};

// A run's stop request, set from any thread, read by the run's thread.
// The first cause wins; later Cancel calls are ignored. Thread-safe.
class Cancellation {
 public:
  Cancellation() = default;
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  // Records `reason` unless a cause is already recorded, and then calls the
  // current hook (if any) on this thread. Returns true for the first call.
  bool Cancel(v1::Reason reason, std::string message);

  bool cancelled() const;
  std::optional<CancelCause> cause() const;
  // A token that is cancelled once this is; it must not outlive this
  // object (a run's token lives in the run).
  CancelToken token() const {
    return CancelToken::FromProbe([this] { return cancelled(); });
  }

  // While the returned guard lives, Cancel calls `hook` (e.g. TryCancel of
  // a blocking RPC); if the run is already cancelled, `hook` runs at once.
  // The hook runs under this object's lock: it must be quick and must not
  // call back into this object. One hook at a time; the guard must not
  // outlive this object.
  class HookGuard {
   public:
    explicit HookGuard(Cancellation* owner) : owner_(owner) {}
    HookGuard(const HookGuard&) = delete;
    HookGuard& operator=(const HookGuard&) = delete;
    ~HookGuard();

   private:
    Cancellation* owner_;
  };
  [[nodiscard]] HookGuard OnCancel(std::function<void()> hook);

 private:
  mutable absl::Mutex mu_;
  std::optional<CancelCause> cause_ ABSL_GUARDED_BY(mu_);
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_RUN_CANCELLATION_H_
