#include "vmm/run/cancellation.h"

#include <utility>

namespace cloudlet::vmm {

bool Cancellation::Cancel(v1::Reason reason, std::string message) {
  absl::MutexLock lock(&mu_);
  if (cause_) return false;
  cause_ = CancelCause{reason, std::move(message)};
  if (hook_) hook_();
  return true;
}

bool Cancellation::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cause_.has_value();
}

std::optional<CancelCause> Cancellation::cause() const {
  absl::MutexLock lock(&mu_);
  return cause_;
}

Cancellation::HookGuard Cancellation::OnCancel(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  hook_ = std::move(hook);
  if (cause_ && hook_) hook_();
  return HookGuard(this);
}

Cancellation::HookGuard::~HookGuard() {
  absl::MutexLock lock(&owner_->mu_);
  owner_->hook_ = nullptr;
}

}  // namespace cloudlet::vmm
