#ifndef CLOUDLET_CLI_CLIENT_SSE_PARSER_H_
#define CLOUDLET_CLI_CLIENT_SSE_PARSER_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace cloudlet::cli {

// One dispatched Server-Sent Event.
struct SseEvent {
  std::string event = "message";  // the `event:` field, or the default
  std::string data;               // `data:` lines joined with '\n'
};

// An incremental parser of a text/event-stream body (the WHATWG rules:
// lines end in \n, \r\n or \r; `:` starts a comment; a blank line
// dispatches; one space after the colon is dropped; `id` and `retry` are
// ignored). Bytes may be fed split anywhere, e.g. as libcurl delivers them.
// Not thread-safe.
class SseParser {
 public:
  using Callback = std::function<void(const SseEvent&)>;

  // `on_event` is called from Feed() for every complete event.
  explicit SseParser(Callback on_event) : on_event_(std::move(on_event)) {}

  void Feed(absl::string_view bytes);

  // True when the stream stopped in the middle of an event (its bytes are
  // discarded, as the spec says).
  bool HasPartialEvent() const;

 private:
  void ProcessLine(absl::string_view line);
  void Dispatch();

  Callback on_event_;
  std::string line_;
  bool last_was_cr_ = false;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_CLIENT_SSE_PARSER_H_
