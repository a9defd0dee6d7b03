#include "cli/output/renderer.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/output/exit_codes.h"
#include "common/workload_names.h"

namespace cloudlet::cli {
namespace {

constexpr absl::string_view kBold = "\033[1m";
constexpr absl::string_view kCyan = "\033[1;36m";
constexpr absl::string_view kGreen = "\033[1;32m";
constexpr absl::string_view kRed = "\033[1;31m";
constexpr absl::string_view kDim = "\033[2m";
constexpr absl::string_view kReset = "\033[0m";
constexpr absl::string_view kClearLine = "\r\033[K";

std::string Seconds(const google::protobuf::Duration& d) {
  double seconds = static_cast<double>(d.seconds()) + d.nanos() / 1e9;
  return absl::StrFormat("%.1fs", seconds);
}

absl::Status ErrorFromJson(absl::string_view json) {
  google::protobuf::Struct body;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(json.data(), json.size()), &body,
           lenient)
           .ok()) {
    return absl::InternalError(absl::StrCat("the API reported an error: ", json));
  }
  auto field = [&](const char* key) -> std::string {
    auto it = body.fields().find(key);
    return it == body.fields().end() ? "" : it->second.string_value();
  };
  return absl::UnavailableError(field("message").empty()
                                    ? std::string(json)
                                    : field("message"));
}

}  // namespace

Renderer::Renderer(RenderOptions options, Sink out, Sink err,
                   const Clock* clock)
    : options_(options),
      out_(std::move(out)),
      err_(std::move(err)),
      clock_(clock) {}

void Renderer::OnSseEvent(const SseEvent& event) {
  if (event.event == "error") {
    if (options_.mode == OutputMode::kJson) {
      out_(absl::StrCat("{\"error\":", event.data, "}\n"));
    }
    stream_error_ = ErrorFromJson(event.data);
    return;
  }
  v1::RunEvent run_event;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;  // a newer API may add fields
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(event.data.data(), event.data.size()),
           &run_event, lenient)
           .ok()) {
    return;  // not a RunEvent: an event kind this CLI does not know
  }
  OnRunEvent(run_event, event.data);
}

void Renderer::OnRunEvent(const v1::RunEvent& event, absl::string_view json) {
  if (options_.mode == OutputMode::kJson) {
    out_(absl::StrCat(json, "\n"));
    if (event.has_result()) result_ = event.result();
    return;
  }
  switch (event.event_case()) {
    case v1::RunEvent::kAccepted:
      if (options_.stderr_is_tty && options_.mode == OutputMode::kNormal) {
        Status(absl::StrCat("run ", event.accepted().run_id()), kDim);
      }
      break;
    case v1::RunEvent::kProgress:
      OnProgress(event.progress());
      break;
    case v1::RunEvent::kStage:
      OnStage(event.stage());
      break;
    case v1::RunEvent::kBooted:
      if (options_.stderr_is_tty && options_.mode == OutputMode::kNormal) {
        const v1::VmBooted& booted = event.booted();
        Status(absl::StrCat("microVM up in ", Seconds(booted.boot_time()), " (",
                            booted.accel(), ", ", booted.memory_mib(), " MiB, ",
                            booted.vcpus(), " vCPU)"),
               kDim);
      }
      break;
    case v1::RunEvent::kOutput:
      OnOutput(event.output());
      break;
    case v1::RunEvent::kResult:
      OnResult(event.result());
      break;
    case v1::RunEvent::EVENT_NOT_SET:
      break;
  }
}

void Renderer::OnProgress(const v1::Progress& progress) {
  if (options_.mode != OutputMode::kNormal || progress.cached()) return;
  std::string text =
      absl::StrCat("preparing ", progress.artifact(), ": ", progress.message());
  if (!options_.stderr_is_tty) {
    err_(absl::StrCat("cloudlet: ", text, "\n"));
    return;
  }
  if (text != progress_text_) {
    progress_text_ = text;
    progress_since_ = clock_->Now();
  }
  DrawProgress();
}

void Renderer::Tick() {
  if (progress_shown_) DrawProgress();
}

void Renderer::DrawProgress() {
  int elapsed = static_cast<int>(absl::ToInt64Seconds(clock_->Now() - progress_since_));
  err_(absl::StrCat(kClearLine, kDim, "… ", progress_text_, " ",
                    absl::StrFormat("%d:%02d", elapsed / 60, elapsed % 60),
                    kReset));
  progress_shown_ = true;
}

void Renderer::ClearProgress() {
  if (!progress_shown_) return;
  err_(kClearLine);
  progress_shown_ = false;
  progress_text_.clear();
}

void Renderer::OnStage(const v1::StageChange& stage) {
  if (options_.mode != OutputMode::kNormal) return;
  if (stage.stage() == v1::BUILDING && stage.cached()) {
    // Said on a pipe too: it is why no compiler output follows.
    if (!options_.stderr_is_tty) {
      err_("cloudlet: build: cached\n");
    } else {
      Status("build: cached", kCyan);
    }
    return;
  }
  if (!options_.stderr_is_tty) return;
  std::string text;
  switch (stage.stage()) {
    case v1::QUEUED:
      text = "queued: waiting for a free VM slot";
      break;
    case v1::BOOTING:
      text = "booting a microVM";
      break;
    case v1::BUILDING:
      text = "building";
      break;
    case v1::RUNNING:
      text = "running";
      break;
    default:
      return;  // PREPARING shows as progress, DONE/FAILED as the result
  }
  if (!stage.detail().empty()) absl::StrAppend(&text, ": ", stage.detail());
  Status(text, kCyan);
}

void Renderer::OnOutput(const v1::OutputChunk& chunk) {
  const std::string& data = chunk.data();
  if (chunk.stage() == v1::BUILDING) {
    if (options_.mode == OutputMode::kQuiet) {
      build_output_.append(data);
      return;
    }
    ClearProgress();
    err_(data);
    if (!data.empty()) at_line_start_ = data.back() == '\n';
    return;
  }
  ClearProgress();
  if (chunk.stream() == v1::STDERR) {
    err_(data);
  } else {
    out_(data);
  }
  if (!data.empty()) at_line_start_ = data.back() == '\n';
}

void Renderer::OnResult(const v1::Result& result) {
  result_ = result;
  ClearProgress();
}

void Renderer::Status(absl::string_view text, absl::string_view colour) {
  ClearProgress();
  if (options_.stderr_is_tty && !at_line_start_) {
    err_("\n");
    at_line_start_ = true;
  }
  if (options_.stderr_is_tty) {
    err_(absl::StrCat(colour, "==> ", kReset, kBold, text, kReset, "\n"));
  } else {
    err_(absl::StrCat("cloudlet: ", text, "\n"));
  }
}

void Renderer::Note(absl::string_view text) {
  if (options_.mode == OutputMode::kNormal) Status(text, kCyan);
}

void Renderer::PrintWarning(absl::string_view message) {
  PrintError(absl::StrCat("warning: ", message));
}

void Renderer::PrintError(absl::string_view message) {
  ClearProgress();
  if (options_.stderr_is_tty && !at_line_start_) {
    err_("\n");
    at_line_start_ = true;
  }
  if (options_.stderr_is_tty) {
    err_(absl::StrCat(kRed, "cloudlet: ", kReset, message, "\n"));
  } else {
    err_(absl::StrCat("cloudlet: ", message, "\n"));
  }
}

int Renderer::Finish(const absl::Status& transport) {
  ClearProgress();
  if (result_.has_value()) {
    int code = ExitCodeForResult(*result_);
    std::string line = DescribeResult(*result_);
    if (result_->reason() == v1::BUILD_FAILED &&
        options_.mode == OutputMode::kQuiet) {
      err_(build_output_);
    }
    if (!line.empty()) {
      PrintError(line);
    } else if (options_.stderr_is_tty && options_.mode == OutputMode::kNormal) {
      std::string text = absl::StrCat("exit code ", code);
      if (result_->timings().has_total()) {
        absl::StrAppend(&text, " in ", Seconds(result_->timings().total()));
      }
      Status(text, code == 0 ? kGreen : kRed);
    }
    return code;
  }
  if (stream_error_.has_value()) {
    PrintError(stream_error_->message());
    return kExitPlatformFailure;
  }
  if (!transport.ok()) {
    PrintError(transport.message());
    return ExitCodeForError(transport);
  }
  PrintError("the API closed the stream before the run's result");
  return kExitPlatformFailure;
}

}  // namespace cloudlet::cli
