#include "vmm/cache/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/sync/poll.h"

namespace cloudlet::vmm {
namespace {

pid_t ReadHolder(int fd) {
  char buffer[32] = {};
  ssize_t n = ::pread(fd, buffer, sizeof(buffer) - 1, 0);
  int pid = 0;
  if (n <= 0 || !absl::SimpleAtoi(absl::StripAsciiWhitespace(buffer), &pid)) {
    return 0;
  }
  return pid;
}

void WriteHolder(int fd) {
  std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd, 0) == 0) {
    (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  }
}

// One attempt at the lock file at `path`: the locked fd, an empty fd when
// another holder has it (`holder` then says who, if known), or an error.
class LockAttempt {
 public:
  LockAttempt(std::filesystem::path path, int mode)
      : path_(std::move(path)), mode_(mode) {}

  absl::StatusOr<UniqueFd> Try() {
    for (;;) {
      if (!fd_) {
        fd_.Reset(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (!fd_) {
          return absl::InternalError(absl::StrCat("cannot open lock file ",
                                                  path_.string(), ": ",
                                                  std::strerror(errno)));
        }
      }
      if (::flock(fd_.get(), mode_ | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK || errno == EINTR) return UniqueFd();
        return absl::InternalError(
            absl::StrCat("flock ", path_.string(), ": ", std::strerror(errno)));
      }
      // Locked; but if its holder deleted the file meanwhile, this is a
      // lock on nothing: open the path again.
      struct stat locked, at_path;
      if (::fstat(fd_.get(), &locked) == 0 &&
          ::stat(path_.c_str(), &at_path) == 0 &&
          locked.st_ino == at_path.st_ino && locked.st_dev == at_path.st_dev) {
        return std::move(fd_);
      }
      fd_.Reset();
    }
  }

  pid_t holder() const { return fd_ ? ReadHolder(fd_.get()) : 0; }

 private:
  const std::filesystem::path path_;
  const int mode_;
  UniqueFd fd_;
};

// Tries `attempt` until it locks (with a backoff from `first_interval` to
// `max_interval`), `deadline` passes (DeadlineExceeded naming `what`) or
// `cancel` is cancelled (Cancelled). `on_wait` (may be empty) hears once
// whom it waits for.
absl::StatusOr<UniqueFd> LockWhenFree(
    LockAttempt& attempt, absl::string_view what, absl::Time deadline,
    const CancelToken& cancel,
    const std::function<void(pid_t holder)>& on_wait,
    absl::Duration first_interval, absl::Duration max_interval) {
  UniqueFd locked;
  bool told = false;
  absl::Status status = PollUntil(
      what, deadline,
      [&]() -> absl::StatusOr<bool> {
        absl::StatusOr<UniqueFd> fd = attempt.Try();
        if (!fd.ok()) return fd.status();
        locked = *std::move(fd);
        if (locked) return true;
        if (!told && on_wait) on_wait(attempt.holder());
        told = true;
        if (cancel.cancelled()) {
          return absl::CancelledError(
              absl::StrCat("cancelled while waiting for ", what));
        }
        return false;
      },
      first_interval, max_interval);
  if (!status.ok()) return status;
  return locked;
}

}  // namespace

absl::StatusOr<FileLock> FileLock::TryAcquire(
    const std::filesystem::path& path) {
  absl::StatusOr<UniqueFd> fd = LockAttempt(path, LOCK_EX).Try();
  if (!fd.ok()) return fd.status();
  if (!*fd) {
    return absl::UnavailableError(
        absl::StrCat(path.string(), " is held by another holder"));
  }
  WriteHolder(fd->get());
  return FileLock(*std::move(fd), path);
}

absl::StatusOr<FileLock> FileLock::AcquireShared(
    const std::filesystem::path& path, absl::Time deadline) {
  // Short polls: a run takes this on its way to boot, and the exclusive
  // holder (a prune) keeps it only for a rename.
  LockAttempt attempt(path, LOCK_SH);
  absl::StatusOr<UniqueFd> locked = LockWhenFree(
      attempt, absl::StrCat("a shared lock on ", path.string()), deadline,
      CancelToken(), nullptr, absl::Milliseconds(1), absl::Milliseconds(50));
  if (!locked.ok()) return locked.status();
  return FileLock(*std::move(locked), path);
}

absl::StatusOr<FileLock> FileLock::Acquire(
    const std::filesystem::path& path, absl::Time deadline,
    const CancelToken& cancel,
    const std::function<void(pid_t holder)>& on_wait) {
  LockAttempt attempt(path, LOCK_EX);
  absl::StatusOr<UniqueFd> locked = LockWhenFree(
      attempt, absl::StrCat("the lock ", path.string()), deadline, cancel,
      on_wait, absl::Milliseconds(10), CancelToken::kPollInterval);
  if (!locked.ok()) return locked.status();
  WriteHolder(locked->get());
  return FileLock(*std::move(locked), path);
}

absl::Status FileLock::RemoveFile() && {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("cannot remove lock file ",
                                            path_.string(), ": ",
                                            std::strerror(errno)));
  }
  fd_.Reset();
  return absl::OkStatus();
}

}  // namespace cloudlet::vmm
