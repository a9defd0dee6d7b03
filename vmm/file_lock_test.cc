#include "vmm/file_lock.h"

#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

TEST(FileLock, SecondHolderWaitsUntilTheFirstReleases) {
  absl::StatusOr<TempDir> dir = TempDir::Create("file-lock-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path path = dir->path() / "a.lock";
  auto first = FileLock::Acquire(path, absl::Now() + absl::Seconds(5),
                                 nullptr, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();

  std::atomic<bool> second_has_it{false};
  pid_t waited_for = -1;
  std::thread second([&] {
    auto lock = FileLock::Acquire(path, absl::Now() + absl::Seconds(10),
                                  nullptr,
                                  [&](pid_t holder) { waited_for = holder; });
    EXPECT_TRUE(lock.ok()) << lock.status();
    second_has_it = true;
  });
  absl::SleepFor(absl::Milliseconds(300));  // the test is about waiting
  EXPECT_FALSE(second_has_it.load());
  { auto released = std::move(*first); }
  second.join();
  EXPECT_TRUE(second_has_it.load());
  EXPECT_EQ(waited_for, ::getpid());
}

TEST(FileLock, WaitingStopsWhenCancelledOrAtTheDeadline) {
  absl::StatusOr<TempDir> dir = TempDir::Create("file-lock-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path path = dir->path() / "a.lock";
  auto held = FileLock::Acquire(path, absl::Now() + absl::Seconds(5), nullptr,
                                nullptr);
  ASSERT_TRUE(held.ok());

  absl::Time start = absl::Now();
  auto cancelled = FileLock::Acquire(
      path, absl::Now() + absl::Seconds(30),
      [&] { return absl::Now() - start > absl::Milliseconds(200); }, nullptr);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  auto late = FileLock::Acquire(path, absl::Now() + absl::Milliseconds(200),
                                nullptr, nullptr);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace cloudlet::vmm
