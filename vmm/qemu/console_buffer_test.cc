#include "vmm/qemu/console_buffer.h"

#include <string>
#include <thread>

#include "absl/time/clock.h"

#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

TEST(ConsoleBuffer, TailReturnsTheLastLines) {
  ConsoleBuffer buffer(1024);
  buffer.Append("one\ntwo\nthr");
  buffer.Append("ee\nfour\n");
  EXPECT_EQ(buffer.Tail(2), "three\nfour");
  EXPECT_EQ(buffer.Tail(10), "one\ntwo\nthree\nfour");
  EXPECT_EQ(buffer.Tail(0), "");
}

TEST(ConsoleBuffer, TailIncludesAnUnfinishedLastLine) {
  ConsoleBuffer buffer(1024);
  buffer.Append("one\ntwo");
  EXPECT_EQ(buffer.Tail(1), "two");
}

TEST(ConsoleBuffer, NeverHoldsMoreThanItsCapacity) {
  ConsoleBuffer buffer(100);
  for (int i = 0; i < 10000; ++i) buffer.Append("0123456789abcdef\n");
  buffer.Append("last line\n");
  std::string all = buffer.Tail(1000000);
  EXPECT_LE(all.size(), 100u);
  EXPECT_EQ(buffer.Tail(1), "last line");
  EXPECT_EQ(buffer.total_bytes(), 10000u * 17 + 10);
}

TEST(ConsoleBuffer, KeepsTheEndOfAChunkLargerThanItsCapacity) {
  ConsoleBuffer buffer(4);
  buffer.Append("abcdefgh");
  EXPECT_EQ(buffer.Tail(1), "efgh");
}

TEST(ConsoleBuffer, ContainsSeesTextAcrossAppends) {
  ConsoleBuffer buffer(1024);
  buffer.Append("could not set up host ");
  buffer.Append("forwarding rule");
  EXPECT_TRUE(buffer.Contains("host forwarding rule"));
  EXPECT_FALSE(buffer.Contains("kernel panic"));
}

TEST(ConsoleBuffer, AwaitTextWakesWhenAnotherThreadAppendsIt) {
  ConsoleBuffer buffer(1024);
  std::thread writer([&] {
    buffer.Append("booting\ncloudlet-init: agent sta");
    buffer.Append("rting\n");
  });
  absl::Status seen =
      buffer.AwaitText("agent starting", absl::Now() + absl::Seconds(30));
  writer.join();
  EXPECT_TRUE(seen.ok()) << seen;
}

TEST(ConsoleBuffer, AwaitTextFailsAtOnceWhenTheOutputEndedWithoutIt) {
  ConsoleBuffer buffer(1024);
  buffer.Append("Kernel panic\n");
  std::thread closer([&] { buffer.Close(); });
  absl::Status seen =
      buffer.AwaitText("agent starting", absl::Now() + absl::Seconds(30));
  closer.join();
  EXPECT_EQ(seen.code(), absl::StatusCode::kUnavailable) << seen;
}

TEST(ConsoleBuffer, AwaitTextGivesUpAtTheDeadline) {
  ConsoleBuffer buffer(1024);
  buffer.Append("still booting\n");
  absl::Status seen =
      buffer.AwaitText("agent starting", absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(seen.code(), absl::StatusCode::kDeadlineExceeded) << seen;
}

TEST(ConsoleBuffer, AwaitTextFindsTextThatIsAlreadyThereEvenAfterClose) {
  ConsoleBuffer buffer(1024);
  buffer.Append("cloudlet-init: agent starting\n");
  buffer.Close();
  EXPECT_TRUE(buffer.AwaitText("agent starting", absl::InfinitePast()).ok());
}

}  // namespace
}  // namespace cloudlet::vmm
