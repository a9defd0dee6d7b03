#ifndef CLOUDLET_VMM_RUN_SLOT_LIMITER_H_
#define CLOUDLET_VMM_RUN_SLOT_LIMITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/sync/cancel.h"

namespace cloudlet::vmm {

// Bounds how many runs hold a VM slot at once (`max_running`) and how many
// more may wait for one (`max_queue`), first come first served.
//
// A run is admitted once, up front (so a full VMM says RESOURCE_EXHAUSTED
// before it streams anything), and gets a Ticket: either a slot at once or
// a place in the queue. The ticket keeps its place while the run does other
// work (preparing artifacts), then WaitForSlot() blocks until it reaches
// the front and a slot is free. Destroying a ticket gives its slot or its
// place back.
//
// Thread-safe. The limiter must outlive its tickets.
class SlotLimiter {
 public:
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

    // Blocks until this ticket holds a slot. `on_position` is called on
    // this thread, with no lock held, with the 1-based queue position when
    // the ticket first has to wait and each time the position changes.
    // `cancel` is checked at least every `poll_interval`: Cancelled once it
    // is, Unavailable when the limiter was closed meanwhile.
    // Returns at once when the slot is already held.
    absl::Status WaitForSlot(const CancelToken& cancel,
                             const std::function<void(int)>& on_position,
                             absl::Duration poll_interval =
                                 absl::Milliseconds(50));

    // True once WaitForSlot() succeeded or the slot was granted at Admit.
    bool holds_slot() const;

   private:
    friend class SlotLimiter;
    Ticket(SlotLimiter* limiter, uint64_t id) : limiter_(limiter), id_(id) {}
    void Release();

    SlotLimiter* limiter_ = nullptr;
    uint64_t id_ = 0;
  };

  SlotLimiter(int max_running, int max_queue);
  SlotLimiter(const SlotLimiter&) = delete;
  SlotLimiter& operator=(const SlotLimiter&) = delete;

  // Admits one run. ResourceExhausted when `max_running` tickets hold slots
  // and `max_queue` wait already; Unavailable after Close().
  absl::StatusOr<Ticket> Admit();

  // Stops admitting (Admit: Unavailable) and makes every waiting
  // WaitForSlot return Unavailable. Tickets that hold a slot keep it.
  void Close();

  // Called with false when the limiter stops taking runs (every slot and
  // queue place taken, or closed) and with true when it takes them again;
  // outside the limiter's lock, on the thread that changed it. Set it
  // before the first Admit. The VMM's gRPC health follows it, so that a
  // balancer sends new runs elsewhere.
  void SetAdmissionObserver(std::function<void(bool accepting)> observer);

  bool accepting() const;  // whether Admit would succeed now
  int running() const;  // tickets holding a slot
  int queued() const;   // tickets waiting for one
  int max_running() const { return max_running_; }
  int max_queue() const { return max_queue_; }

 private:
  absl::StatusOr<Ticket> TryAdmit();
  // Hands free slots to the front of the queue.
  void PromoteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseTicket(uint64_t id);
  // Whether Admit would succeed now.
  bool AcceptingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells the observer when AcceptingLocked changed since it last heard;
  // called after `lock` (the caller's, on mu_) is released.
  void NotifyAdmission();
  // 0 when `id` holds a slot, else its 1-based queue position.
  int PositionLocked(uint64_t id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_running_;
  const int max_queue_;
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::unordered_set<uint64_t> holding_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> waiting_ ABSL_GUARDED_BY(mu_);
  std::function<void(bool)> admission_observer_;
  // Serializes the observer's calls, so they arrive in order.
  absl::Mutex observer_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool reported_accepting_ ABSL_GUARDED_BY(observer_mu_) = true;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_RUN_SLOT_LIMITER_H_
