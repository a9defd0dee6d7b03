#ifndef CLOUDLET_CLI_OUTPUT_RENDERER_H_
#define CLOUDLET_CLI_OUTPUT_RENDERER_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/sync/clock.h"
#include "absl/time/time.h"
#include "cli/client/sse_parser.h"
#include "vmm.pb.h"

namespace cloudlet::cli {

enum class OutputMode {
  kNormal,  // workload output + build output and status lines on stderr
  kJson,    // every event as one JSON line on stdout
  kQuiet,   // the workload's output only (and a failure's one-line reason)
};

struct RenderOptions {
  OutputMode mode = OutputMode::kNormal;
  // Stage headers, colour and a redrawn progress line only on a terminal.
  bool stderr_is_tty = false;
};

// Writes bytes somewhere (a file descriptor in the CLI, a string in tests).
using Sink = std::function<void(absl::string_view bytes)>;

// Turns the API's event stream into terminal output and an exit code:
// the workload's stdout chunks go to `out` and its stderr chunks to `err`
// byte for byte as they arrive; build output and status lines go to `err`.
// Not thread-safe: call from the thread that reads the stream.
class Renderer {
 public:
  // `clock` (for the progress line's elapsed time) must outlive the
  // renderer.
  Renderer(RenderOptions options, Sink out, Sink err,
           const Clock* clock = Clock::Real());

  // One event from the API's SSE stream: a RunEvent kind (accepted,
  // progress, stage, booted, output, result) or `error`. Unknown kinds are
  // ignored, so that a newer API does not break an older CLI.
  void OnSseEvent(const SseEvent& event);

  // Redraws the progress line with the time spent so far; call about once
  // a second while waiting.
  void Tick();

  // Prints "cloudlet: <message>" on stderr (clearing a progress line), in
  // every mode.
  void PrintError(absl::string_view message);
  // "cloudlet: warning: <message>" on stderr, in every mode.
  void PrintWarning(absl::string_view message);

  // A status line of Cloudlet's own ("starting cloudlet-vmm ..."), in the
  // normal mode only: "==> text" on a terminal, "cloudlet: text" otherwise.
  void Note(absl::string_view text);

  // Ends the output once the stream is over and returns the exit code:
  // from the Result if one came (printing its one-line reason), else from
  // an `error` event, else from `transport` (the HTTP call's own status), and
  // a platform failure if the stream simply stopped without a result.
  int Finish(const absl::Status& transport);

  const std::optional<v1::Result>& result() const { return result_; }

 private:
  void OnRunEvent(const v1::RunEvent& event, absl::string_view json);
  void OnProgress(const v1::Progress& progress);
  void OnStage(const v1::StageChange& stage);
  void OnOutput(const v1::OutputChunk& chunk);
  void OnResult(const v1::Result& result);
  // A status line on stderr: on a terminal bold with `colour`.
  void Status(absl::string_view text, absl::string_view colour);
  void ClearProgress();
  void DrawProgress();

  RenderOptions options_;
  Sink out_;
  Sink err_;
  const Clock* clock_;
  std::optional<v1::Result> result_;
  std::optional<absl::Status> stream_error_;
  std::string build_output_;  // kept in quiet mode, shown if the build fails
  std::string progress_text_;  // the progress line shown, if any
  absl::Time progress_since_;
  bool progress_shown_ = false;
  // Whether the terminal's cursor is at the start of a line, as far as the
  // workload's and the compiler's output tell: a status line after output
  // without a final newline starts on a line of its own.
  bool at_line_start_ = true;
};

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_OUTPUT_RENDERER_H_
