// ThreadSanitizer builds only (CLOUDLET_TSAN): tells TSan about the
// synchronization that Debian's Abseil does inside its own, uninstrumented
// library. Without this TSan sees every absl::Mutex as no lock at all and
// reports each ABSL_GUARDED_BY member as a race.
//
// The linker sends our calls of the Abseil functions below to these
// __wrap_ functions (-Wl,--wrap=SYMBOL, see CMakeLists.txt), which call the
// real ones (__real_) and annotate them through TSan's public interface
// (sanitizer/tsan_interface.h), as Abseil does itself when it is built
// with TSan: a lock acquires the mutex's history, an unlock releases into
// it, a wait releases and then acquires. Calls that Abseil makes inside its
// own library are not wrapped and need not be.
//
// Mutex::Await* evaluate the caller's condition inside the library, under
// the lock; Cloudlet does not use them (a CondVar loop says the same
// thing, and TSan can follow it).
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

// The Abseil symbols as Debian 12 mangles them (inline namespace debian3).
#define MUTEX_LOCK _ZN4absl7debian35Mutex4LockEv
#define MUTEX_UNLOCK _ZN4absl7debian35Mutex6UnlockEv
#define MUTEX_TRYLOCK _ZN4absl7debian35Mutex7TryLockEv
#define MUTEX_READERLOCK _ZN4absl7debian35Mutex10ReaderLockEv
#define MUTEX_READERUNLOCK _ZN4absl7debian35Mutex12ReaderUnlockEv
#define CONDVAR_WAIT _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE
#define CONDVAR_WAITWITHTIMEOUT \
  _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE
#define CONDVAR_WAITWITHDEADLINE \
  _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE
#define NOTIFICATION_NOTIFY _ZN4absl7debian312Notification6NotifyEv
#define NOTIFICATION_WAIT _ZNK4absl7debian312Notification19WaitForNotificationEv
#define NOTIFICATION_WAITWITHTIMEOUT \
  _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE
#define NOTIFICATION_WAITWITHDEADLINE \
  _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE

#define CAT(a, b) a##b
#define REAL(name) CAT(__real_, name)
#define WRAP(name) CAT(__wrap_, name)

using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

extern "C" {

// Member functions take `this` as their first argument (Itanium C++ ABI).
void REAL(MUTEX_LOCK)(Mutex* mu);
void REAL(MUTEX_UNLOCK)(Mutex* mu);
bool REAL(MUTEX_TRYLOCK)(Mutex* mu);
void REAL(MUTEX_READERLOCK)(Mutex* mu);
void REAL(MUTEX_READERUNLOCK)(Mutex* mu);
void REAL(CONDVAR_WAIT)(CondVar* cv, Mutex* mu);
bool REAL(CONDVAR_WAITWITHTIMEOUT)(CondVar* cv, Mutex* mu, Duration timeout);
bool REAL(CONDVAR_WAITWITHDEADLINE)(CondVar* cv, Mutex* mu, Time deadline);
void REAL(NOTIFICATION_NOTIFY)(Notification* n);
void REAL(NOTIFICATION_WAIT)(const Notification* n);
bool REAL(NOTIFICATION_WAITWITHTIMEOUT)(const Notification* n,
                                        Duration timeout);
bool REAL(NOTIFICATION_WAITWITHDEADLINE)(const Notification* n,
                                         Time deadline);

void WRAP(MUTEX_LOCK)(Mutex* mu) {
  __tsan_mutex_pre_lock(mu, 0);
  REAL(MUTEX_LOCK)(mu);
  __tsan_mutex_post_lock(mu, 0, 0);
}

void WRAP(MUTEX_UNLOCK)(Mutex* mu) {
  __tsan_mutex_pre_unlock(mu, 0);
  REAL(MUTEX_UNLOCK)(mu);
  __tsan_mutex_post_unlock(mu, 0);
}

bool WRAP(MUTEX_TRYLOCK)(Mutex* mu) {
  __tsan_mutex_pre_lock(mu, __tsan_mutex_try_lock);
  bool locked = REAL(MUTEX_TRYLOCK)(mu);
  __tsan_mutex_post_lock(
      mu, locked ? __tsan_mutex_try_lock : __tsan_mutex_try_lock_failed, 0);
  return locked;
}

void WRAP(MUTEX_READERLOCK)(Mutex* mu) {
  __tsan_mutex_pre_lock(mu, __tsan_mutex_read_lock);
  REAL(MUTEX_READERLOCK)(mu);
  __tsan_mutex_post_lock(mu, __tsan_mutex_read_lock, 0);
}

void WRAP(MUTEX_READERUNLOCK)(Mutex* mu) {
  __tsan_mutex_pre_unlock(mu, __tsan_mutex_read_lock);
  REAL(MUTEX_READERUNLOCK)(mu);
  __tsan_mutex_post_unlock(mu, __tsan_mutex_read_lock);
}

}  // extern "C"

namespace {

// A wait releases `mu` and takes it again before it returns.
template <typename Wait>
auto AroundWait(Mutex* mu, Wait wait) {
  __tsan_mutex_pre_unlock(mu, 0);
  __tsan_mutex_post_unlock(mu, 0);
  auto result = wait();
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
  return result;
}

}  // namespace

extern "C" {

void WRAP(CONDVAR_WAIT)(CondVar* cv, Mutex* mu) {
  AroundWait(mu, [&] {
    REAL(CONDVAR_WAIT)(cv, mu);
    return 0;
  });
}

bool WRAP(CONDVAR_WAITWITHTIMEOUT)(CondVar* cv, Mutex* mu, Duration timeout) {
  return AroundWait(
      mu, [&] { return REAL(CONDVAR_WAITWITHTIMEOUT)(cv, mu, timeout); });
}

bool WRAP(CONDVAR_WAITWITHDEADLINE)(CondVar* cv, Mutex* mu, Time deadline) {
  return AroundWait(
      mu, [&] { return REAL(CONDVAR_WAITWITHDEADLINE)(cv, mu, deadline); });
}

// What the notifier did before Notify happens before what a waiter does
// once it has seen the notification.
void WRAP(NOTIFICATION_NOTIFY)(Notification* n) {
  __tsan_release(n);
  REAL(NOTIFICATION_NOTIFY)(n);
}

void WRAP(NOTIFICATION_WAIT)(const Notification* n) {
  REAL(NOTIFICATION_WAIT)(n);
  __tsan_acquire(const_cast<Notification*>(n));
}

bool WRAP(NOTIFICATION_WAITWITHTIMEOUT)(const Notification* n,
                                        Duration timeout) {
  bool notified = REAL(NOTIFICATION_WAITWITHTIMEOUT)(n, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}

bool WRAP(NOTIFICATION_WAITWITHDEADLINE)(const Notification* n,
                                         Time deadline) {
  bool notified = REAL(NOTIFICATION_WAITWITHDEADLINE)(n, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}

}  // extern "C"
