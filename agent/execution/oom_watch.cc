#include "agent/execution/oom_watch.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cloudlet::agent {
namespace {

// A /dev/kmsg read returns one record and fails with EINVAL when the buffer
// is smaller than it; records are at most ~1 KiB of text plus metadata.
constexpr size_t kReadSize = 8192;

}  // namespace

OomWatch::OomWatch(const std::filesystem::path& kmsg)
    : fd_(::open(kmsg.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
  // /dev/kmsg: the next read returns the first record logged after this.
  if (fd_ && ::lseek(fd_.get(), 0, SEEK_END) < 0) fd_.Reset();
}

std::vector<std::string> OomWatch::Victims() {
  std::vector<std::string> victims;
  if (!fd_) return victims;
  char buffer[kReadSize];
  while (true) {
    ssize_t n = ::read(fd_.get(), buffer, sizeof(buffer));
    // EPIPE: records were overwritten before we read them; read on.
    if (n < 0 && (errno == EINTR || errno == EPIPE)) continue;
    if (n <= 0) break;  // EAGAIN: nothing new; 0: end of a regular file
    partial_.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t end; (end = partial_.find('\n', start)) != std::string::npos;
         start = end + 1) {
      if (std::optional<std::string> victim = OomVictimIn(
              absl::string_view(partial_).substr(start, end - start))) {
        victims.push_back(*std::move(victim));
      }
    }
    partial_.erase(0, start);
  }
  return victims;
}

std::optional<std::string> OomVictimIn(absl::string_view log_line) {
  // Linux (mm/oom_kill.c): "%s: Killed process %d (%s) total-vm:...", the
  // prefix being "Out of memory" or "Memory cgroup out of memory".
  constexpr absl::string_view kKilled = "Killed process ";
  size_t at = log_line.find(kKilled);
  if (at == absl::string_view::npos ||
      !absl::EndsWithIgnoreCase(
          absl::StripTrailingAsciiWhitespace(log_line.substr(0, at)),
          "out of memory:")) {
    return std::nullopt;
  }
  absl::string_view rest = log_line.substr(at + kKilled.size());
  size_t digits = 0;
  while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) ++digits;
  if (digits == 0 || rest.substr(digits, 2) != " (") return std::nullopt;
  absl::string_view pid = rest.substr(0, digits);
  absl::string_view name = rest.substr(digits + 2);
  // The name may hold spaces or ')': it ends at ") total-vm" when present.
  size_t close = name.find(") total-vm");
  if (close == absl::string_view::npos) close = name.rfind(')');
  if (close == absl::string_view::npos) return std::nullopt;
  return absl::StrCat(name.substr(0, close), " (pid ", pid, ")");
}

}  // namespace cloudlet::agent
