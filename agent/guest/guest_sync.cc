#include "agent/guest/guest_sync.h"

#include <fcntl.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <time.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/process/unique_fd.h"

namespace cloudlet::agent {

absl::Status ApplyHostTime(absl::Time host_time) {
  timespec ts = absl::ToTimespec(host_time);
  if (::clock_settime(CLOCK_REALTIME, &ts) != 0) {
    int error = errno;  // before FormatTime, which may change it
    return absl::ErrnoToStatus(error,
                               absl::StrCat("clock_settime(CLOCK_REALTIME, ",
                                            absl::FormatTime(host_time), ")"));
  }
  return absl::OkStatus();
}

absl::Status MixHostEntropy(absl::string_view bytes) {
  if (bytes.empty()) return absl::OkStatus();
  if (bytes.size() > INT_MAX / 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("host entropy of ", bytes.size(), " bytes is too large"));
  }
  // rand_pool_info ends in a flexible array of __u32; uint32_t storage keeps
  // the header and the bytes after it aligned.
  std::vector<uint32_t> storage(
      (sizeof(rand_pool_info) + bytes.size() + sizeof(uint32_t) - 1) /
      sizeof(uint32_t));
  auto* info = reinterpret_cast<rand_pool_info*>(storage.data());
  info->entropy_count = static_cast<int>(bytes.size() * 8);
  info->buf_size = static_cast<int>(bytes.size());
  std::memcpy(info->buf, bytes.data(), bytes.size());

  UniqueFd urandom(::open("/dev/urandom", O_RDWR | O_CLOEXEC));
  if (!urandom) {
    return absl::ErrnoToStatus(errno, "cannot open /dev/urandom read-write");
  }
  int added = ::ioctl(urandom.get(), RNDADDENTROPY, info);
  int add_errno = errno;
  ::explicit_bzero(storage.data(), storage.size() * sizeof(uint32_t));
  if (added != 0) {
    return absl::ErrnoToStatus(add_errno, "ioctl(/dev/urandom, RNDADDENTROPY)");
  }
  if (::ioctl(urandom.get(), RNDRESEEDCRNG) != 0) {
    return absl::ErrnoToStatus(errno, "ioctl(/dev/urandom, RNDRESEEDCRNG)");
  }
  return absl::OkStatus();
}

}  // namespace cloudlet::agent
