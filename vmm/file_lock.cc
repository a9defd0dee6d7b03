#include "vmm/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/poll.h"

namespace cloudlet::vmm {
namespace {

absl::StatusOr<bool> TryLock(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK || errno == EINTR) return false;
  return absl::InternalError(absl::StrCat("flock: ", std::strerror(errno)));
}

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

}  // namespace

absl::StatusOr<FileLock> FileLock::Acquire(
    const std::filesystem::path& path, absl::Time deadline,
    const std::function<bool()>& cancelled,
    const std::function<void(pid_t holder)>& on_wait) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) {
    return absl::InternalError(
        absl::StrCat("cannot open lock file ", path.string(), ": ",
                     std::strerror(errno)));
  }
  absl::StatusOr<bool> locked = TryLock(fd.get());
  if (!locked.ok()) return locked.status();
  if (!*locked) {
    if (on_wait) on_wait(ReadHolder(fd.get()));
    absl::Status waited = PollUntil(
        absl::StrCat("the lock ", path.string()), deadline,
        [&]() -> absl::StatusOr<bool> {
          if (cancelled && cancelled()) {
            return absl::CancelledError(
                absl::StrCat("cancelled while waiting for ", path.string()));
          }
          return TryLock(fd.get());
        },
        absl::Milliseconds(10), absl::Milliseconds(100));
    if (!waited.ok()) return waited;
  }
  WriteHolder(fd.get());
  return FileLock(std::move(fd));
}

}  // namespace cloudlet::vmm
