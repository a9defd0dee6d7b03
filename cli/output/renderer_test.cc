#include "cli/output/renderer.h"

#include <google/protobuf/util/json_util.h>

#include "cli/output/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The SSE event the API sends for `event`.
SseEvent Sse(const v1::RunEvent& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  SseEvent sse;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(event, &sse.data, options)
          .ok());
  const auto* field = v1::RunEvent::GetReflection()->GetOneofFieldDescriptor(
      event, v1::RunEvent::descriptor()->FindOneofByName("event"));
  sse.event = field->name();
  return sse;
}

v1::RunEvent Output(v1::Stage stage, v1::Stream stream, std::string data) {
  v1::RunEvent event;
  event.mutable_output()->set_stage(stage);
  event.mutable_output()->set_stream(stream);
  event.mutable_output()->set_data(std::move(data));
  return event;
}

v1::RunEvent Stage(v1::Stage stage, std::string detail = "") {
  v1::RunEvent event;
  event.mutable_stage()->set_stage(stage);
  event.mutable_stage()->set_detail(std::move(detail));
  return event;
}

v1::RunEvent Result(v1::Reason reason, int exit_code) {
  v1::RunEvent event;
  v1::Result& result = *event.mutable_result();
  result.set_status(reason == v1::EXITED ? v1::DONE : v1::FAILED);
  result.set_reason(reason);
  result.set_exit_code(exit_code);
  result.mutable_timings()->mutable_total()->set_seconds(3);
  return event;
}

v1::RunEvent Progress(std::string artifact, std::string message, bool cached) {
  v1::RunEvent event;
  event.mutable_progress()->set_artifact(std::move(artifact));
  event.mutable_progress()->set_message(std::move(message));
  event.mutable_progress()->set_cached(cached);
  return event;
}

class RendererTest : public ::testing::Test {
 protected:
  Renderer Make(OutputMode mode, bool tty) {
    return Renderer(
        {.mode = mode, .stderr_is_tty = tty},
        [this](absl::string_view b) { out_.append(b.data(), b.size()); },
        [this](absl::string_view b) { err_.append(b.data(), b.size()); },
        &clock_);
  }
  std::string out_;
  std::string err_;
  ManualClock clock_{absl::FromUnixSeconds(1000)};
};

TEST_F(RendererTest, WorkloadStreamsGoToStdoutAndStderrByteForByte) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  std::string binary("a\0b\xff\n", 5);
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDOUT, binary)));
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDERR, "oops")));
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDOUT, "no newline")));
  EXPECT_EQ(out_, binary + "no newline");
  EXPECT_EQ(err_, "oops");
}

TEST_F(RendererTest, BuildOutputGoesToStderr) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  renderer.OnSseEvent(Sse(Output(v1::BUILDING, v1::STDOUT, "Compiling x\n")));
  renderer.OnSseEvent(Sse(Output(v1::BUILDING, v1::STDERR, "warning: y\n")));
  EXPECT_EQ(out_, "");
  EXPECT_EQ(err_, "Compiling x\nwarning: y\n");
}

TEST_F(RendererTest, NoStageHeadersOrColourWithoutATerminal) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  renderer.OnSseEvent(Sse(Stage(v1::BOOTING)));
  renderer.OnSseEvent(Sse(Stage(v1::RUNNING)));
  renderer.OnSseEvent(Sse(Result(v1::EXITED, 0)));
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), 0);
  EXPECT_EQ(err_, "");
  EXPECT_EQ(out_, "");
}

TEST_F(RendererTest, ACachedBuildSaysSoOnStderrOnAPipeAndATerminal) {
  v1::RunEvent cached = Stage(v1::BUILDING, "cached build (`gcc` not run)");
  cached.mutable_stage()->set_cached(true);
  for (bool tty : {false, true}) {
    err_.clear();
    Renderer renderer = Make(OutputMode::kNormal, tty);
    renderer.OnSseEvent(Sse(cached));
    EXPECT_THAT(err_, HasSubstr("build: cached")) << "tty=" << tty;
    EXPECT_EQ(out_, "");
  }
  err_.clear();
  Renderer quiet = Make(OutputMode::kQuiet, false);
  quiet.OnSseEvent(Sse(cached));
  EXPECT_EQ(err_, "");
}

TEST_F(RendererTest, TerminalGetsStageHeadersAndAColouredEnd) {
  Renderer renderer = Make(OutputMode::kNormal, true);
  renderer.OnSseEvent(Sse(Stage(v1::BUILDING, "cargo build --release")));
  renderer.OnSseEvent(Sse(Stage(v1::RUNNING)));
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDOUT, "hi\n")));
  renderer.OnSseEvent(Sse(Result(v1::EXITED, 0)));
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), 0);
  EXPECT_THAT(err_, HasSubstr("building: cargo build --release"));
  EXPECT_THAT(err_, HasSubstr("running"));
  EXPECT_THAT(err_, HasSubstr("\033["));
  EXPECT_THAT(err_, HasSubstr("exit code 0 in 3.0s"));
  EXPECT_EQ(out_, "hi\n");
}

TEST_F(RendererTest, ProgressLineIsRedrawnInPlaceAndClearedBeforeOutput) {
  Renderer renderer = Make(OutputMode::kNormal, true);
  renderer.OnSseEvent(Sse(Progress("kernel", "cached", true)));
  EXPECT_EQ(err_, "");  // nothing to show for a cached artifact
  renderer.OnSseEvent(Sse(Progress("image/rust", "building", false)));
  EXPECT_THAT(err_, HasSubstr("\r\033[K"));
  EXPECT_THAT(err_, HasSubstr("preparing image/rust: building 0:00"));
  clock_.Advance(absl::Seconds(75));
  renderer.Tick();
  EXPECT_THAT(err_, HasSubstr("preparing image/rust: building 1:15"));
  EXPECT_EQ(err_.find('\n'), std::string::npos);  // one line, redrawn
  err_.clear();
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDERR, "x")));
  EXPECT_EQ(err_, "\r\033[Kx");
}

TEST_F(RendererTest, ProgressIsOneLinePerStepWithoutATerminal) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  renderer.OnSseEvent(Sse(Progress("kernel", "building (about 8 min)", false)));
  EXPECT_EQ(err_, "cloudlet: preparing kernel: building (about 8 min)\n");
}

TEST_F(RendererTest, QuietPrintsOnlyTheWorkloadsOutput) {
  Renderer renderer = Make(OutputMode::kQuiet, true);
  renderer.OnSseEvent(Sse(Progress("kernel", "building", false)));
  renderer.OnSseEvent(Sse(Stage(v1::BUILDING)));
  renderer.OnSseEvent(Sse(Output(v1::BUILDING, v1::STDERR, "Compiling\n")));
  renderer.OnSseEvent(Sse(Stage(v1::RUNNING)));
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDOUT, "out\n")));
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDERR, "err\n")));
  renderer.OnSseEvent(Sse(Result(v1::EXITED, 4)));
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), 4);
  EXPECT_EQ(out_, "out\n");
  EXPECT_EQ(err_, "err\n");
}

TEST_F(RendererTest, QuietStillShowsTheCompilerWhenTheBuildFails) {
  Renderer renderer = Make(OutputMode::kQuiet, false);
  renderer.OnSseEvent(
      Sse(Output(v1::BUILDING, v1::STDERR, "main.c:1: error: nope\n")));
  renderer.OnSseEvent(Sse(Result(v1::BUILD_FAILED, 1)));
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), 1);
  EXPECT_THAT(err_, HasSubstr("main.c:1: error: nope\n"));
  EXPECT_THAT(err_, HasSubstr("cloudlet: build failed (exit code 1)"));
}

TEST_F(RendererTest, JsonPrintsEveryEventAsOneLineOnStdout) {
  Renderer renderer = Make(OutputMode::kJson, true);
  renderer.OnSseEvent(Sse(Stage(v1::RUNNING)));
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDOUT, "hi\n")));
  renderer.OnSseEvent(Sse(Result(v1::EXITED, 3)));
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), 3);
  EXPECT_EQ(err_, "");
  EXPECT_EQ(std::count(out_.begin(), out_.end(), '\n'), 3);
  EXPECT_THAT(out_, HasSubstr("{\"stage\":{\"stage\":\"RUNNING\"}}\n"));
  EXPECT_THAT(out_, HasSubstr("\"data\":\"aGkK\""));
  EXPECT_THAT(out_, Not(HasSubstr("hi\n")));
}

TEST_F(RendererTest, TimeoutEndsWithItsReasonAnd124) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  v1::RunEvent result = Result(v1::TIMEOUT, 0);
  result.mutable_result()->clear_exit_code();
  result.mutable_result()->set_message("timed out after 2s");
  renderer.OnSseEvent(Sse(result));
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), kExitTimeout);
  EXPECT_EQ(err_, "cloudlet: timed out: timed out after 2s\n");
}

TEST_F(RendererTest, ErrorEventIsAPlatformFailure) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  renderer.OnSseEvent(
      {.event = "error",
       .data = R"({"code":"UNAVAILABLE","message":"the VMM went away"})"});
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), kExitPlatformFailure);
  EXPECT_EQ(err_, "cloudlet: the VMM went away\n");
}

TEST_F(RendererTest, StreamWithoutResultIsAPlatformFailure) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDOUT, "partial")));
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), kExitPlatformFailure);
  EXPECT_THAT(err_, HasSubstr("before the run's result"));
}

TEST_F(RendererTest, RefusedRequestMapsToUsageOrPlatformExit) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  EXPECT_EQ(renderer.Finish(absl::InvalidArgumentError("bad code")), kExitUsage);
  EXPECT_EQ(renderer.Finish(absl::ResourceExhaustedError("busy")),
            kExitPlatformFailure);
  EXPECT_EQ(err_, "cloudlet: bad code\ncloudlet: busy\n");
}

TEST_F(RendererTest, OnATerminalAStatusLineAfterAPartialLineStartsItsOwn) {
  Renderer renderer = Make(OutputMode::kNormal, true);
  renderer.OnSseEvent(Sse(Output(v1::RUNNING, v1::STDOUT, "no newline")));
  v1::RunEvent result = Result(v1::TIMEOUT, 0);
  result.mutable_result()->clear_exit_code();
  renderer.OnSseEvent(Sse(result));
  EXPECT_EQ(renderer.Finish(absl::OkStatus()), kExitTimeout);
  EXPECT_THAT(err_, ::testing::StartsWith("\n"));
  EXPECT_THAT(err_, HasSubstr("timed out"));
}

TEST_F(RendererTest, IgnoresEventKindsItDoesNotKnow) {
  Renderer renderer = Make(OutputMode::kNormal, false);
  renderer.OnSseEvent({.event = "telemetry", .data = "not json"});
  renderer.OnSseEvent(
      {.event = "output",
       .data = R"({"output":{"stream":"STDOUT","data":"aGkK","new":1}})"});
  EXPECT_EQ(out_, "hi\n");
  EXPECT_EQ(err_, "");
}

}  // namespace
}  // namespace cloudlet::cli
