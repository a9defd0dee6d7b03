#ifndef CLOUDLET_CLI_CLIENT_API_CLIENT_H_
#define CLOUDLET_CLI_CLIENT_API_CLIENT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/client/sse_parser.h"

namespace cloudlet::cli {

struct HttpReply {
  long status = 0;
  std::string body;
};

// A client of cloudlet-api over libcurl. Each call runs a transfer on the
// calling thread, waking at least every 250 ms and at once when
// `interrupt_fd` becomes readable; the call then drops its connection and
// returns Cancelled. Not thread-safe.
class ApiClient {
 public:
  // `base_url` is the API's root, e.g. "http://127.0.0.1:3000".
  // `interrupt_fd` may be -1 (no interruption). A non-empty `bearer_token`
  // goes with every request as "Authorization: Bearer <token>".
  ApiClient(std::string base_url, int interrupt_fd,
            std::string bearer_token = "");

  const std::string& base_url() const { return base_url_; }

  // True once the interrupt descriptor has become readable.
  bool Interrupted() const;

  // A whole request with an overall `timeout`. Any HTTP status is a reply;
  // errors are transport failures: Unavailable (IsNotListening() when
  // nothing accepted the connection), DeadlineExceeded, Cancelled.
  absl::StatusOr<HttpReply> Get(absl::string_view path, absl::Duration timeout);
  absl::StatusOr<HttpReply> Post(absl::string_view path,
                                 absl::string_view json_body,
                                 absl::Duration timeout);
  absl::StatusOr<HttpReply> Delete(absl::string_view path,
                                   absl::Duration timeout);

  // POST /run with `json_body`. On 200 every SSE event goes to `on_event`
  // as soon as it arrives, and the call returns OK when the API ends the
  // stream. Any other status returns the API's {"code","message"} error as a
  // Status with that code. `on_tick` (optional) is called about once a
  // second while the stream is open.
  absl::Status StreamRun(absl::string_view json_body,
                         const std::function<void(const SseEvent&)>& on_event,
                         const std::function<void()>& on_tick);
  // The same for any streaming route (POST /functions, .../invoke).
  absl::Status StreamPost(absl::string_view path, absl::string_view json_body,
                          const std::function<void(const SseEvent&)>& on_event,
                          const std::function<void()>& on_tick);

 private:
  std::string base_url_;
  std::string bearer_token_;
  int interrupt_fd_;
};

// True for the error ApiClient returns when nothing listens at the URL
// (connection refused): the case in which `cloudlet run` may start the
// API itself.
bool IsNotListening(const absl::Status& status);

// The Status an API error reply stands for: its JSON `code` and `message`,
// or one derived from the HTTP status when the body is not such JSON.
absl::Status StatusFromReply(const HttpReply& reply);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_CLIENT_API_CLIENT_H_
