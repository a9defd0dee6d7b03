#include "api/http/run_handler.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/http/http_errors.h"
#include "api/http/peer_watch.h"
#include "api/request/run_request_json.h"
#include "api/http/sse_frame.h"
#include "common/workload_names.h"
#include "spdlog/spdlog.h"

namespace cloudlet::api {
namespace {

// Everything one streaming response needs; shared by the content provider
// and the releaser that cpp-httplib calls on the worker thread.
struct StreamState {
  std::unique_ptr<RunStream> stream;
  std::unique_ptr<StreamCounter::Token> token;
  std::optional<PeerWatch> peer;
  std::optional<v1::RunEvent> pending;  // the event peeked before headers
  RunHandlerOptions options;
  std::string client;
  std::string run_id = "-";
  bool saw_result = false;
  absl::Time last_write = absl::Now();
  ApiMetrics* metrics = nullptr;
  v1::Language language = v1::LANGUAGE_UNSPECIFIED;
  // What the run counts as if it ends without a Result: a stream that is
  // dropped without one was abandoned by its client.
  absl::string_view outcome_without_result = kOutcomeCancelled;
  RunObserver observer;
  bool ended = false;  // observer.on_end was called

  ~StreamState() {
    // Cancelling a finished call is a no-op; an unfinished one is abandoned
    // by its client, and cancelling it stops the VM.
    if (stream != nullptr) stream->Cancel();
    if (!saw_result) metrics->RecordOutcome(language, outcome_without_result);
    End(nullptr);
    spdlog::debug("event=stream_closed run={} client={}", run_id, client);
  }

  // Tells the observer how the run ended, once.
  void End(const v1::Result* result) {
    if (ended) return;
    ended = true;
    if (observer.on_end) observer.on_end(result);
  }

  bool PeerGone() const { return peer.has_value() && peer->PeerGone(); }
};

void NoteEvent(StreamState& state, const v1::RunEvent& event) {
  if (event.has_accepted()) {
    state.run_id = event.accepted().run_id();
    spdlog::info("event=streaming run={} client={}", state.run_id,
                 state.client);
  } else if (event.has_result()) {
    state.saw_result = true;
    const v1::Result& result = event.result();
    state.metrics->RecordResult(state.language, result);
    state.End(&result);
    spdlog::info("event=result run={} status={} reason={} exit_code={} signal={}",
                 state.run_id, StageName(result.status()),
                 ReasonName(result.reason()), result.exit_code(),
                 result.signal());
  }
}

bool Write(StreamState& state, httplib::DataSink& sink,
           absl::string_view bytes) {
  if (!sink.write(bytes.data(), bytes.size())) {
    spdlog::info("event=client_gone run={} client={} seen=write_failed",
                 state.run_id, state.client);
    state.stream->Cancel();
    return false;
  }
  state.last_write = absl::Now();
  return true;
}

bool WriteEvent(StreamState& state, httplib::DataSink& sink,
                const v1::RunEvent& event) {
  absl::StatusOr<std::string> frame = SseFrame(event);
  if (!frame.ok()) {
    spdlog::warn("event=event_dropped run={} error=\"{}\"", state.run_id,
                 std::string(frame.status().message()));
    return true;
  }
  return Write(state, sink, *frame);
}

// cpp-httplib calls this until it returns false (abort) or sink.done() was
// called. Each call writes at most one event, or waits for one up to
// peer_check_interval and checks on the client.
bool Pump(StreamState& state, httplib::DataSink& sink) {
  if (state.pending.has_value()) {
    v1::RunEvent first = *std::move(state.pending);
    state.pending.reset();
    return WriteEvent(state, sink, first);
  }
  v1::RunEvent event;
  switch (state.stream->WaitForNext(state.options.peer_check_interval,
                                    &event)) {
    case RunStream::Next::kEvent:
      NoteEvent(state, event);
      return WriteEvent(state, sink, event);
    case RunStream::Next::kFinished: {
      absl::Status status = state.stream->status();
      if (status.ok() && !state.saw_result) {
        status = absl::InternalError("the VMM ended the run without a result");
      }
      if (!state.saw_result) state.outcome_without_result = kOutcomeStreamError;
      if (!state.saw_result && absl::IsUnavailable(status)) {
        // The VMM that accepted the run went away (killed, its host gone):
        // its VMs died with it, and no other VMM can take the run over.
        status = absl::UnavailableError(absl::StrCat(
            "VMM lost: the VMM running this run went away (", status.message(),
            "); its VM died with it"));
      }
      if (!status.ok()) {
        spdlog::warn("event=stream_failed run={} error=\"{}\"", state.run_id,
                     status.ToString());
        if (!Write(state, sink, SseErrorFrame(status))) return false;
      }
      state.End(nullptr);  // a no-op after a Result
      if (state.observer.last_frame &&
          !Write(state, sink, state.observer.last_frame())) {
        return false;
      }
      sink.done();
      return true;
    }
    case RunStream::Next::kTimedOut:
      if (state.PeerGone()) {
        spdlog::info("event=client_gone run={} client={} seen=peer_watch",
                     state.run_id,
                     state.client);
        state.stream->Cancel();
        return false;
      }
      if (absl::Now() - state.last_write >= state.options.keepalive_interval) {
        return Write(state, sink, SseComment("keep-alive"));
      }
      return true;
  }
  return true;
}

}  // namespace

std::unique_ptr<StreamCounter::Token> StreamCounter::Enter() {
  absl::MutexLock lock(&mu_);
  ++active_;
  return std::make_unique<Token>(this);
}

void StreamCounter::Leave() {
  absl::MutexLock lock(&mu_);
  --active_;
  if (active_ == 0) idle_.SignalAll();
}

bool StreamCounter::WaitUntilIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  while (active_ != 0 && !idle_.WaitWithDeadline(&mu_, deadline)) {
  }
  return active_ == 0;
}

int StreamCounter::active() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

void SetErrorResponse(const absl::Status& status, httplib::Response& response) {
  response.status = HttpStatusFor(status.code());
  response.set_content(ErrorJson(status) + "\n", "application/json");
}

void RunHandler::Handle(const httplib::Request& request,
                        httplib::Response& response) {
  std::string client = absl::StrCat(request.remote_addr, ":",
                                    request.remote_port);
  absl::StatusOr<v1::RunRequest> run = DecodeRunRequest(request.body);
  if (!run.ok()) {
    spdlog::info("event=run_refused client={} status=400 error=\"{}\"", client,
                 std::string(run.status().message()));
    SetErrorResponse(run.status(), response);
    return;
  }
  Stream(request, *run, RunObserver{}, response);
}

void RunHandler::Stream(const httplib::Request& request,
                        const v1::RunRequest& run, RunObserver observer,
                        httplib::Response& response) {
  std::string client = absl::StrCat(request.remote_addr, ":",
                                    request.remote_port);
  absl::StatusOr<std::unique_ptr<RunStream>> stream = vmm_->StartRun(run);
  if (!stream.ok()) {
    spdlog::warn("event=vmm_unavailable client={} vmm={} error=\"{}\"", client,
                 vmm_->target(), std::string(stream.status().message()));
    metrics_->RecordOutcome(run.workload().language(), kOutcomeRejected);
    if (observer.on_end) observer.on_end(nullptr);
    SetErrorResponse(stream.status(), response);
    return;
  }

  auto state = std::make_shared<StreamState>();
  state->observer = std::move(observer);
  state->stream = *std::move(stream);
  state->token = streams_->Enter();
  state->options = options_;
  state->client = client;
  state->metrics = metrics_;
  state->language = run.workload().language();
  absl::StatusOr<PeerWatch> peer =
      PeerWatch::Find(request.local_addr, request.local_port,
                      request.remote_addr, request.remote_port);
  if (peer.ok()) {
    state->peer = *peer;
  } else {
    spdlog::debug("event=no_peer_watch client={} error=\"{}\"",
                  client, std::string(peer.status().message()));
  }

  // Peek at the first event before committing to 200: an error the VMM
  // reports for the request itself becomes a real HTTP error.
  absl::Time deadline = absl::Now() + options_.first_event_wait;
  while (true) {
    v1::RunEvent event;
    absl::Duration wait = std::max(
        absl::ZeroDuration(),
        std::min(options_.peer_check_interval, deadline - absl::Now()));
    RunStream::Next next = state->stream->WaitForNext(wait, &event);
    if (next == RunStream::Next::kEvent) {
      NoteEvent(*state, event);
      state->pending = std::move(event);
      break;
    }
    if (next == RunStream::Next::kFinished) {
      absl::Status status = state->stream->status();
      if (status.ok()) {
        status = absl::InternalError("the VMM ended the run without any event");
      }
      spdlog::info("event=run_refused client={} status={} error=\"{}\"", client,
                   HttpStatusFor(status.code()),
                   std::string(status.message()));
      state->outcome_without_result = kOutcomeRejected;
      SetErrorResponse(status, response);
      return;
    }
    if (state->PeerGone()) {
      spdlog::info("event=client_gone client={} seen=before_first_event",
                   client);
      return;  // destroying `state` cancels the call
    }
    if (absl::Now() >= deadline) break;  // stream anyway; events will come
  }

  response.status = 200;
  response.set_header("Cache-Control", "no-cache");
  response.set_header("X-Accel-Buffering", "no");
  response.set_chunked_content_provider(
      "text/event-stream",
      [state](size_t /*offset*/, httplib::DataSink& sink) {
        return Pump(*state, sink);
      },
      [state](bool success) {
        if (!success) state->stream->Cancel();
      });
}

}  // namespace cloudlet::api
