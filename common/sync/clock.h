#ifndef CLOUDLET_COMMON_SYNC_CLOCK_H_
#define CLOUDLET_COMMON_SYNC_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cloudlet {

// Where code that measures or decides by time reads it, so that a test can
// hold time still or move it (ManualClock) instead of sleeping and allowing
// for a busy machine. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The host's wall clock; lives for the whole process.
  static const Clock* Real();
};

// A clock that moves only when told: for tests. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

inline const Clock* Clock::Real() {
  class RealClock : public Clock {
   public:
    absl::Time Now() const override { return absl::Now(); }
  };
  static const RealClock* const kReal = new RealClock();
  return kReal;
}

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_SYNC_CLOCK_H_
