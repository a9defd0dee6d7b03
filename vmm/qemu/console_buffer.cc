#include "vmm/qemu/console_buffer.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cloudlet::vmm {

void ConsoleBuffer::Append(absl::string_view data) {
  absl::MutexLock lock(&mutex_);
  total_ += data.size();
  if (data.size() >= capacity_) {
    data_.assign(data.data() + data.size() - capacity_, capacity_);
    return;
  }
  if (data_.size() + data.size() > capacity_) {
    data_.erase(0, data_.size() + data.size() - capacity_);
  }
  data_.append(data.data(), data.size());
  changed_.SignalAll();
}

std::string ConsoleBuffer::Tail(size_t max_lines) const {
  absl::MutexLock lock(&mutex_);
  if (max_lines == 0) return "";
  // Walk back over `max_lines` newlines, ignoring a trailing one.
  size_t end = data_.size();
  if (end > 0 && data_[end - 1] == '\n') --end;
  size_t start = end;
  size_t lines = 0;
  while (start > 0) {
    if (data_[start - 1] == '\n' && ++lines == max_lines) break;
    --start;
  }
  return data_.substr(start, end - start);
}

bool ConsoleBuffer::Contains(absl::string_view text) const {
  absl::MutexLock lock(&mutex_);
  return absl::StrContains(data_, text);
}

absl::Status ConsoleBuffer::AwaitText(absl::string_view text,
                                      absl::Time deadline) const {
  absl::MutexLock lock(&mutex_);
  while (!closed_ && !absl::StrContains(data_, text) &&
         !changed_.WaitWithDeadline(&mutex_, deadline)) {
  }
  if (absl::StrContains(data_, text)) return absl::OkStatus();
  if (closed_) {
    return absl::UnavailableError(
        absl::StrCat("the console ended without \"", text, "\""));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("\"", text, "\" did not appear on the console in time"));
}

void ConsoleBuffer::Close() {
  absl::MutexLock lock(&mutex_);
  closed_ = true;
  changed_.SignalAll();
}

size_t ConsoleBuffer::total_bytes() const {
  absl::MutexLock lock(&mutex_);
  return total_;
}

}  // namespace cloudlet::vmm
