#ifndef CLOUDLET_COMMON_SYNC_CANCEL_H_
#define CLOUDLET_COMMON_SYNC_CANCEL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <utility>

#include "absl/time/time.h"

namespace cloudlet {

// "Does the caller still want this?", asked by long work (a build, a wait
// for a lock, a VM's boot) between steps. The one type every cancellable
// call takes. Copies are cheap and share their source; cancelled() may be
// called from any thread.
class CancelToken {
 public:
  // Never cancelled.
  CancelToken() = default;
  // Cancelled once `probe` returns true (e.g. a gRPC ServerContext's
  // IsCancelled). The probe must be cheap and thread-safe.
  static CancelToken FromProbe(std::function<bool()> probe) {
    CancelToken token;
    token.probe_ = std::make_shared<const std::function<bool()>>(
        std::move(probe));
    return token;
  }

  bool cancelled() const { return probe_ != nullptr && (*probe_)(); }
  // False for a token that can never be cancelled: a wait may then sleep
  // longer between checks.
  bool can_cancel() const { return probe_ != nullptr; }

  // How often a wait that cannot be woken (a child process, a lock held by
  // another process) checks the token: the most a cancel waits to be seen.
  static constexpr absl::Duration kPollInterval = absl::Milliseconds(100);

 private:
  std::shared_ptr<const std::function<bool()>> probe_;
};

// Owns a cancel flag and hands out tokens that see it. Thread-safe.
class CancelSource {
 public:
  CancelSource() = default;
  CancelSource(const CancelSource&) = delete;
  CancelSource& operator=(const CancelSource&) = delete;

  void Cancel() { flag_->store(true); }
  bool cancelled() const { return flag_->load(); }
  // Valid after this source is gone (it then stays as it was).
  CancelToken token() const {
    return CancelToken::FromProbe(
        [flag = flag_] { return flag->load(); });
  }

 private:
  std::shared_ptr<std::atomic<bool>> flag_ =
      std::make_shared<std::atomic<bool>>(false);
};

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_SYNC_CANCEL_H_
