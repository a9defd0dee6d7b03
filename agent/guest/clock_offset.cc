#include "agent/guest/clock_offset.h"

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/process/unique_fd.h"

namespace cloudlet::agent {
namespace {

absl::Status ErrnoError(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<absl::Duration> MonotonicNow() {
  timespec now{};
  if (::clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
    return ErrnoError("clock_gettime(CLOCK_MONOTONIC)");
  }
  return absl::DurationFromTimespec(now);
}

}  // namespace

absl::StatusOr<absl::Duration> EnsureMonotonicClockAtLeast(
    absl::Duration at_least) {
  absl::StatusOr<absl::Duration> now = MonotonicNow();
  if (!now.ok()) return now.status();
  if (*now >= at_least) return absl::ZeroDuration();
  // Whole seconds are plenty.
  int64_t seconds =
      absl::ToInt64Seconds(absl::Ceil(at_least - *now, absl::Seconds(1)));

  // unshare(CLONE_NEWTIME) creates the namespace for this process's future
  // children; its offsets can be set until a process enters it, and setns
  // then moves this (single-threaded) process itself into it.
  if (::unshare(CLONE_NEWTIME) != 0)
    return ErrnoError("unshare(CLONE_NEWTIME)");
  {
    UniqueFd offsets(::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
    if (!offsets) return ErrnoError("cannot open /proc/self/timens_offsets");
    std::string text =
        absl::StrCat("monotonic ", seconds, " 0\nboottime ", seconds, " 0\n");
    if (::write(offsets.get(), text.data(), text.size()) !=
        static_cast<ssize_t>(text.size())) {
      return ErrnoError("cannot write /proc/self/timens_offsets");
    }
  }
  UniqueFd ns(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
  if (!ns) return ErrnoError("cannot open /proc/self/ns/time_for_children");
  if (::setns(ns.get(), CLONE_NEWTIME) != 0) {
    return ErrnoError("setns(CLONE_NEWTIME) (is the process single-threaded?)");
  }
  absl::StatusOr<absl::Duration> after = MonotonicNow();
  if (!after.ok()) return after.status();
  if (*after < at_least) {
    return absl::InternalError(
        absl::StrCat("CLOCK_MONOTONIC reads ", absl::FormatDuration(*after),
                     " after an offset of ", seconds, " s"));
  }
  return absl::Seconds(seconds);
}

}  // namespace cloudlet::agent
