#ifndef CLOUDLET_VMM_FILE_LOCK_H_
#define CLOUDLET_VMM_FILE_LOCK_H_

#include <sys/types.h>

#include <filesystem>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace cloudlet::vmm {

// An exclusive flock() on a lock file, held until destruction. Works
// between processes and between threads of one process (each holder opens
// the file itself). The holder's pid is written into the file so that a
// waiter can say whom it waits for. Move-only.
class FileLock {
 public:
  // Takes the lock on `path` (created if missing). When another holder has
  // it, calls `on_wait(holder_pid)` once (pid 0 when unknown) and polls
  // until the lock is free, `deadline` passes (DeadlineExceeded) or
  // `cancelled` returns true (Cancelled; polled at least every 100 ms).
  static absl::StatusOr<FileLock> Acquire(
      const std::filesystem::path& path, absl::Time deadline,
      const std::function<bool()>& cancelled,
      const std::function<void(pid_t holder)>& on_wait);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_FILE_LOCK_H_
