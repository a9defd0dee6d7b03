#ifndef CLOUDLET_VMM_QEMU_CONSOLE_BUFFER_H_
#define CLOUDLET_VMM_QEMU_CONSOLE_BUFFER_H_

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cloudlet::vmm {

// The most recent output of a console: keeps at most `capacity` bytes (the
// newest), however much is appended. Thread-safe.
class ConsoleBuffer {
 public:
  explicit ConsoleBuffer(size_t capacity) : capacity_(capacity) {}

  void Append(absl::string_view data);
  // The last `max_lines` lines (a line cut by the capacity counts as one).
  std::string Tail(size_t max_lines) const;
  bool Contains(absl::string_view text) const;
  // Blocks until `text` is in the buffer (Ok), the output ended without it
  // (Unavailable, see Close), or `deadline` passes (DeadlineExceeded).
  // Wakes on each Append, never polls. `text` must still be among the
  // newest `capacity` bytes when it is checked, which holds for a marker
  // printed early on a quiet console.
  absl::Status AwaitText(absl::string_view text, absl::Time deadline) const;
  // Marks the end of the output (the console's writer is gone): AwaitText
  // stops waiting for text that cannot come any more.
  void Close();
  // Bytes appended in all, including those dropped.
  size_t total_bytes() const;

 private:
  const size_t capacity_;
  mutable absl::Mutex mutex_;
  std::string data_ ABSL_GUARDED_BY(mutex_);
  size_t total_ ABSL_GUARDED_BY(mutex_) = 0;
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
  mutable absl::CondVar changed_;  // signalled on Append and Close
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_QEMU_CONSOLE_BUFFER_H_
