#include "vmm/run/slot_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cloudlet::vmm {

SlotLimiter::SlotLimiter(int max_running, int max_queue)
    : max_running_(std::max(1, max_running)),
      max_queue_(std::max(0, max_queue)) {}

void SlotLimiter::SetAdmissionObserver(
    std::function<void(bool accepting)> observer) {
  admission_observer_ = std::move(observer);
}

bool SlotLimiter::AcceptingLocked() const {
  return !closed_ && (static_cast<int>(holding_.size()) < max_running_ ||
                      static_cast<int>(waiting_.size()) < max_queue_);
}

void SlotLimiter::NotifyAdmission() {
  if (!admission_observer_) return;
  absl::MutexLock order(&observer_mu_);
  bool accepting;
  {
    absl::MutexLock lock(&mu_);
    accepting = AcceptingLocked();
  }
  if (accepting == reported_accepting_) return;
  reported_accepting_ = accepting;
  admission_observer_(accepting);
}

absl::StatusOr<SlotLimiter::Ticket> SlotLimiter::Admit() {
  absl::StatusOr<Ticket> ticket = TryAdmit();
  NotifyAdmission();
  return ticket;
}

absl::StatusOr<SlotLimiter::Ticket> SlotLimiter::TryAdmit() {
  absl::MutexLock lock(&mu_);
  if (closed_) {
    return absl::UnavailableError(
        "the VMM is shutting down and takes no new runs");
  }
  uint64_t id = next_id_++;
  if (static_cast<int>(holding_.size()) < max_running_ && waiting_.empty()) {
    holding_.insert(id);
    return Ticket(this, id);
  }
  if (static_cast<int>(waiting_.size()) < max_queue_) {
    waiting_.push_back(id);
    return Ticket(this, id);
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "all ", max_running_, " VM slots are busy and ", max_queue_,
      " runs are already queued; try again later"));
}

void SlotLimiter::Close() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    changed_.SignalAll();
  }
  NotifyAdmission();
}

bool SlotLimiter::accepting() const {
  absl::MutexLock lock(&mu_);
  return AcceptingLocked();
}

int SlotLimiter::running() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(holding_.size());
}

int SlotLimiter::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiting_.size());
}

void SlotLimiter::PromoteLocked() {
  bool promoted = false;
  while (static_cast<int>(holding_.size()) < max_running_ &&
         !waiting_.empty()) {
    holding_.insert(waiting_.front());
    waiting_.pop_front();
    promoted = true;
  }
  // Queue positions change for every waiter when the front moves.
  if (promoted) changed_.SignalAll();
}

void SlotLimiter::ReleaseTicket(uint64_t id) {
  {
    absl::MutexLock lock(&mu_);
    if (holding_.erase(id) == 0) {
      auto it = std::find(waiting_.begin(), waiting_.end(), id);
      if (it != waiting_.end()) waiting_.erase(it);
    }
    PromoteLocked();
    changed_.SignalAll();
  }
  NotifyAdmission();
}

int SlotLimiter::PositionLocked(uint64_t id) const {
  if (holding_.contains(id)) return 0;
  auto it = std::find(waiting_.begin(), waiting_.end(), id);
  return it == waiting_.end() ? -1
                              : static_cast<int>(it - waiting_.begin()) + 1;
}

SlotLimiter::Ticket::Ticket(Ticket&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), id_(other.id_) {}

SlotLimiter::Ticket& SlotLimiter::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

SlotLimiter::Ticket::~Ticket() { Release(); }

void SlotLimiter::Ticket::Release() {
  if (limiter_ != nullptr) std::exchange(limiter_, nullptr)->ReleaseTicket(id_);
}

bool SlotLimiter::Ticket::holds_slot() const {
  if (limiter_ == nullptr) return false;
  absl::MutexLock lock(&limiter_->mu_);
  return limiter_->PositionLocked(id_) == 0;
}

absl::Status SlotLimiter::Ticket::WaitForSlot(
    const CancelToken& cancel,
    const std::function<void(int)>& on_position,
    absl::Duration poll_interval) {
  if (limiter_ == nullptr) {
    return absl::FailedPreconditionError("WaitForSlot on a released ticket");
  }
  int reported = 0;
  while (true) {
    int position;
    {
      absl::MutexLock lock(&limiter_->mu_);
      position = limiter_->PositionLocked(id_);
      if (position == 0) return absl::OkStatus();
      if (position < 0) {
        return absl::InternalError("ticket lost its place in the VM queue");
      }
      if (limiter_->closed_) {
        return absl::UnavailableError(
            "the VMM is shutting down; the run was still waiting for a VM "
            "slot");
      }
      if (position == reported) {
        limiter_->changed_.WaitWithTimeout(&limiter_->mu_, poll_interval);
        position = limiter_->PositionLocked(id_);
        if (position == 0) return absl::OkStatus();
      }
    }
    if (cancel.cancelled()) {
      return absl::CancelledError("cancelled while waiting for a VM slot");
    }
    if (position > 0 && position != reported) {
      reported = position;
      if (on_position) on_position(position);
    }
  }
}

}  // namespace cloudlet::vmm
