#ifndef CLOUDLET_AGENT_EXECUTION_OOM_WATCH_H_
#define CLOUDLET_AGENT_EXECUTION_OOM_WATCH_H_

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/process/unique_fd.h"

namespace cloudlet::agent {

// Notices the kernel's OOM killer through the kernel log (/dev/kmsg), so a
// run killed for want of memory can say so instead of only "killed by
// signal 9". Watches from construction on: earlier reports do not count.
// Where the log cannot be read (no /dev/kmsg, no permission: an agent on a
// host for tests), it reports nothing. Not thread-safe; one per stage.
class OomWatch {
 public:
  explicit OomWatch(const std::filesystem::path& kmsg = "/dev/kmsg");

  // The processes the OOM killer killed since construction (or since the
  // previous call), oldest first, each as "python3 (pid 123)".
  std::vector<std::string> Victims();

 private:
  UniqueFd fd_;
  std::string partial_;  // a line whose end has not been read yet
};

// The victim a kernel log line reports ("python3 (pid 123)"), if the line
// is an OOM kill ("... Out of memory: Killed process 123 (python3)
// total-vm:..."). Accepts /dev/kmsg records ("3,512,9071,-;Out of ...") and
// plain dmesg lines alike.
std::optional<std::string> OomVictimIn(absl::string_view log_line);

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_EXECUTION_OOM_WATCH_H_
