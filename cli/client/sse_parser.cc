#include "cli/client/sse_parser.h"

namespace cloudlet::cli {

void SseParser::Feed(absl::string_view bytes) {
  for (char c : bytes) {
    if (c == '\n' && last_was_cr_) {  // the \n of a \r\n
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = (c == '\r');
    if (c == '\n' || c == '\r') {
      ProcessLine(line_);
      line_.clear();
    } else {
      line_.push_back(c);
    }
  }
}

bool SseParser::HasPartialEvent() const {
  return !line_.empty() || has_data_ || !event_.empty();
}

void SseParser::ProcessLine(absl::string_view line) {
  if (line.empty()) {
    Dispatch();
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alive)
  absl::string_view field = line;
  absl::string_view value;
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_ = std::string(value);
  } else if (field == "data") {
    data_.append(value.data(), value.size());
    data_.push_back('\n');
    has_data_ = true;
  }
  // id, retry and unknown fields are ignored.
}

void SseParser::Dispatch() {
  if (has_data_) {
    SseEvent event;
    if (!event_.empty()) event.event = std::move(event_);
    data_.pop_back();  // the '\n' after the last data line
    event.data = std::move(data_);
    on_event_(event);
  }
  event_.clear();
  data_.clear();
  has_data_ = false;
}

}  // namespace cloudlet::cli
