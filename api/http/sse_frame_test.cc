#include "api/http/sse_frame.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(SseFrame, NamesTheEventAfterItsKindAndCarriesTheWholeEventAsJson) {
  v1::RunEvent event;
  event.mutable_output()->set_stage(v1::RUNNING);
  event.mutable_output()->set_stream(v1::STDOUT);
  event.mutable_output()->set_data("hi\n");
  absl::StatusOr<std::string> frame = SseFrame(event);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(*frame,
            "event: output\n"
            "data: {\"output\":{\"stage\":\"RUNNING\",\"stream\":\"STDOUT\","
            "\"data\":\"aGkK\"}}\n\n");
}

TEST(SseFrame, EveryKindHasItsOwnName) {
  v1::RunEvent event;
  event.mutable_accepted()->set_run_id("r1");
  EXPECT_EQ(*SseEventName(event), "accepted");
  event.mutable_progress()->set_artifact("kernel");
  EXPECT_EQ(*SseEventName(event), "progress");
  event.mutable_stage()->set_stage(v1::BOOTING);
  EXPECT_EQ(*SseEventName(event), "stage");
  event.mutable_booted()->set_accel("tcg");
  EXPECT_EQ(*SseEventName(event), "booted");
  event.mutable_result()->set_exit_code(0);
  EXPECT_EQ(*SseEventName(event), "result");
  EXPECT_FALSE(SseEventName(v1::RunEvent()).ok());
  EXPECT_FALSE(SseFrame(v1::RunEvent()).ok());
}

TEST(SseFrame, ResultCarriesExitCodeZeroAndReason) {
  v1::RunEvent event;
  v1::Result& result = *event.mutable_result();
  result.set_status(v1::DONE);
  result.set_exit_code(0);
  result.set_reason(v1::EXITED);
  result.mutable_timings()->mutable_run()->set_seconds(2);
  std::string frame = *SseFrame(event);
  EXPECT_THAT(frame, StartsWith("event: result\ndata: {"));
  EXPECT_THAT(frame, HasSubstr("\"exit_code\":0"));
  EXPECT_THAT(frame, HasSubstr("\"reason\":\"EXITED\""));
  EXPECT_THAT(frame, HasSubstr("\"run\":\"2s\""));
}

TEST(SseFrame, DataIsOneLineEvenForMultiLineMessages) {
  v1::RunEvent event;
  event.mutable_result()->set_message("line one\nline two");
  event.mutable_result()->set_console_tail("a\r\nb\n");
  std::string frame = *SseFrame(event);
  // Exactly the two header lines and the blank line that ends the frame.
  EXPECT_EQ(std::count(frame.begin(), frame.end(), '\n'), 3);
  EXPECT_EQ(frame.find('\r'), std::string::npos);
}

TEST(SseFrame, DataParsesBackIntoTheSameEvent) {
  v1::RunEvent event;
  event.mutable_output()->set_stage(v1::BUILDING);
  event.mutable_output()->set_stream(v1::STDERR);
  event.mutable_output()->set_data(std::string("\0\xff binary", 9));
  std::string json = *RunEventJson(event);
  v1::RunEvent parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(event, parsed));
}

TEST(SseErrorFrame, IsAnErrorEventWithCodeAndMessage) {
  EXPECT_EQ(SseErrorFrame(absl::UnavailableError("VMM gone")),
            "event: error\ndata: {\"code\":\"UNAVAILABLE\",\"message\":"
            "\"VMM gone\"}\n\n");
}

TEST(SseComment, IsIgnoredBySseClients) {
  EXPECT_EQ(SseComment("keep-alive"), ": keep-alive\n\n");
}

}  // namespace
}  // namespace cloudlet::api
