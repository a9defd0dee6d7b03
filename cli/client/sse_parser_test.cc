#include "cli/client/sse_parser.h"

#include <vector>

#include "gtest/gtest.h"

namespace cloudlet::cli {
namespace {

std::vector<SseEvent> ParseAll(const std::vector<std::string>& pieces,
                               bool* partial = nullptr) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& event) { events.push_back(event); });
  for (const std::string& piece : pieces) parser.Feed(piece);
  if (partial != nullptr) *partial = parser.HasPartialEvent();
  return events;
}

TEST(SseParser, DispatchesEachEventOnItsBlankLine) {
  std::vector<SseEvent> events = ParseAll(
      {"event: accepted\ndata: {\"a\":1}\n\nevent: output\ndata: {}\n\n"});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "accepted");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[1].event, "output");
  EXPECT_EQ(events[1].data, "{}");
}

TEST(SseParser, HandlesBytesSplitAnywhere) {
  std::string stream =
      "event: output\r\ndata: {\"x\": \"y\"}\r\n\r\n: keep-alive\n\n"
      "event: result\rdata: 1\r\r";
  // Feed it one byte at a time: every split point at once.
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  std::vector<SseEvent> events = ParseAll(bytes);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "output");
  EXPECT_EQ(events[0].data, "{\"x\": \"y\"}");
  EXPECT_EQ(events[1].event, "result");
  EXPECT_EQ(events[1].data, "1");
}

TEST(SseParser, JoinsDataLinesAndDefaultsTheEventName) {
  std::vector<SseEvent> events = ParseAll({"data:a\ndata: b\ndata\n\n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "message");
  EXPECT_EQ(events[0].data, "a\nb\n");
}

TEST(SseParser, IgnoresCommentsIdsAndEventsWithoutData) {
  std::vector<SseEvent> events =
      ParseAll({": hello\n\nid: 7\nretry: 10\n\nevent: lonely\n\n"});
  EXPECT_TRUE(events.empty());
}

TEST(SseParser, ReportsAStreamCutMidEvent) {
  bool partial = false;
  std::vector<SseEvent> events =
      ParseAll({"event: a\ndata: 1\n\nevent: b\ndata: 2"}, &partial);
  EXPECT_EQ(events.size(), 1u);
  EXPECT_TRUE(partial);
  ParseAll({"event: a\ndata: 1\n\n"}, &partial);
  EXPECT_FALSE(partial);
}

}  // namespace
}  // namespace cloudlet::cli
