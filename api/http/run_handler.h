#ifndef CLOUDLET_API_HTTP_RUN_HANDLER_H_
#define CLOUDLET_API_HTTP_RUN_HANDLER_H_

#include <httplib.h>

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/metrics.h"
#include "api/vmm/vmm_client.h"

namespace cloudlet::api {

// Counts the Run streams in flight so that a shutdown can let them end.
// Thread-safe.
class StreamCounter {
 public:
  class Token {
   public:
    explicit Token(StreamCounter* counter) : counter_(counter) {}
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;
    ~Token() { counter_->Leave(); }

   private:
    StreamCounter* counter_;
  };

  // The returned token counts one stream until it is destroyed; it must not
  // outlive the counter.
  std::unique_ptr<Token> Enter();
  // True once no stream is in flight; false if `deadline` passed first.
  bool WaitUntilIdle(absl::Time deadline);
  int active() const;

 private:
  void Leave();

  mutable absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  absl::CondVar idle_;  // signalled when active_ drops to 0
};

struct RunHandlerOptions {
  // How long to wait for the VMM's first event before answering 200 anyway.
  // Until then an error from the VMM (RESOURCE_EXHAUSTED, INVALID_ARGUMENT,
  // ...) becomes a proper HTTP error response.
  absl::Duration first_event_wait = absl::Seconds(10);
  // How often to check, while no event arrives, that the client is still
  // there (its going away cancels the run).
  absl::Duration peer_check_interval = absl::Milliseconds(100);
  // An SSE comment is sent after this long without an event, so proxies
  // keep the stream open and a vanished client is noticed on write.
  absl::Duration keepalive_interval = absl::Seconds(15);
};

// POST /run: decodes the body, starts VmmService.Run, and streams each
// RunEvent as an SSE frame as soon as it arrives (see sse_frame.h). Errors
// before the first event are JSON error responses (see http_errors.h);
// after it, an `event: error` frame ends the stream. When the client goes
// away the gRPC call is cancelled within peer_check_interval.
//
// Every run whose body decoded is counted once in `metrics` when its
// stream ends: with its Result, or as rejected / cancelled / stream_error.
//
// Called on cpp-httplib's worker threads, one request per thread; the
// referenced client, counter and metrics must outlive the server.
// What a caller of RunHandler::Stream learns of the run, besides the
// stream the client gets.
struct RunObserver {
  // Called exactly once when the run is over for the API: with its Result,
  // or with null when it ended without one (refused, client gone, stream
  // broken). On a worker thread; must not block for long.
  std::function<void(const v1::Result*)> on_end;
  // If set, called after on_end when the stream ends normally; the SSE
  // frame it returns is the stream's last (e.g. a deploy's version).
  std::function<std::string()> last_frame;
};

class RunHandler {
 public:
  RunHandler(VmmClient* vmm, StreamCounter* streams, ApiMetrics* metrics,
             RunHandlerOptions options)
      : vmm_(vmm), streams_(streams), metrics_(metrics), options_(options) {}

  // POST /run.
  void Handle(const httplib::Request& request, httplib::Response& response);

  // Starts `run` and streams it to `request`'s client as Handle does (the
  // same refusals, SSE frames, cancellation and metrics), telling
  // `observer` how it ended.
  void Stream(const httplib::Request& request, const v1::RunRequest& run,
              RunObserver observer, httplib::Response& response);

 private:
  VmmClient* vmm_;
  StreamCounter* streams_;
  ApiMetrics* metrics_;
  RunHandlerOptions options_;
};

// Fills `response` with the JSON error body and the mapped HTTP status.
void SetErrorResponse(const absl::Status& status, httplib::Response& response);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_HTTP_RUN_HANDLER_H_
