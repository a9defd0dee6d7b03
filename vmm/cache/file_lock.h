#ifndef CLOUDLET_VMM_CACHE_FILE_LOCK_H_
#define CLOUDLET_VMM_CACHE_FILE_LOCK_H_

#include <sys/types.h>

#include <filesystem>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sync/cancel.h"
#include "common/process/unique_fd.h"

namespace cloudlet::vmm {

// An flock() on a lock file, exclusive unless said otherwise, held until
// destruction. Works between processes and between threads of one process
// (each holder opens the file itself). An exclusive holder writes its pid
// into the file so that a waiter can say whom it waits for. A lock file
// may be deleted by its exclusive holder (RemoveFile): every acquirer
// checks, once it has the lock, that the file it locked is still the one
// at the path, and starts over if not. Move-only.
class FileLock {
 public:
  // Takes the lock on `path` (created if missing). When another holder has
  // it, calls `on_wait(holder_pid)` once (pid 0 when unknown) and polls
  // until the lock is free, `deadline` passes (DeadlineExceeded) or
  // `cancel` is cancelled (Cancelled; checked every
  // CancelToken::kPollInterval).
  static absl::StatusOr<FileLock> Acquire(
      const std::filesystem::path& path, absl::Time deadline,
      const CancelToken& cancel,
      const std::function<void(pid_t holder)>& on_wait);

  // Takes the lock on `path` (created if missing) only if nobody holds it,
  // exclusively or shared: Unavailable otherwise. Never waits.
  static absl::StatusOr<FileLock> TryAcquire(const std::filesystem::path& path);

  // A shared lock on `path` (created if missing): any number of shared
  // holders at once, none while an exclusive holder has it. Polls until
  // `deadline` (DeadlineExceeded) while an exclusive holder has it.
  static absl::StatusOr<FileLock> AcquireShared(
      const std::filesystem::path& path, absl::Time deadline);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;

  // Deletes the lock file and releases the lock (exclusive holders only):
  // whoever waits for it then finds the path gone and creates a new file.
  absl::Status RemoveFile() &&;

 private:
  FileLock(UniqueFd fd, std::filesystem::path path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;  // closing it releases the lock
  std::filesystem::path path_;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_CACHE_FILE_LOCK_H_
