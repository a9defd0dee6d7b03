#include "agent/execution/run_control.h"

#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace cloudlet::agent {

absl::StatusOr<std::shared_ptr<RunControl>> RunControl::Create(
    std::string run_id) {
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  return std::shared_ptr<RunControl>(
      new RunControl(std::move(run_id), std::move(wake)));
}

void RunControl::RequestStop(StopRequest request) {
  {
    absl::MutexLock lock(&mu_);
    pending_signals_.push_back(request.signal);
    if (!first_request_) first_request_ = std::move(request);
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

std::optional<StopRequest> RunControl::stop_request() const {
  absl::MutexLock lock(&mu_);
  return first_request_;
}

std::vector<int> RunControl::TakePendingSignals() {
  absl::MutexLock lock(&mu_);
  return std::exchange(pending_signals_, {});
}

void RunControl::ClearWake() {
  uint64_t count;
  (void)!::read(wake_fd_.get(), &count, sizeof(count));
}

}  // namespace cloudlet::agent
