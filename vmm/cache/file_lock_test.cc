#include "vmm/cache/file_lock.h"

#include <unistd.h>

#include <atomic>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "common/process/temp_dir.h"
#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

TEST(FileLock, SecondHolderWaitsUntilTheFirstReleases) {
  absl::StatusOr<TempDir> dir = TempDir::Create("file-lock-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path path = dir->path() / "a.lock";
  auto first = FileLock::Acquire(path, absl::Now() + absl::Seconds(5),
                                 CancelToken(), nullptr);
  ASSERT_TRUE(first.ok()) << first.status();

  std::atomic<bool> second_has_it{false};
  pid_t waited_for = -1;
  std::thread second([&] {
    auto lock = FileLock::Acquire(path, absl::Now() + absl::Seconds(10),
                                  CancelToken(),
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
  auto held = FileLock::Acquire(path, absl::Now() + absl::Seconds(5),
                                CancelToken(), nullptr);
  ASSERT_TRUE(held.ok());

  absl::Time start = absl::Now();
  auto cancelled = FileLock::Acquire(
      path, absl::Now() + absl::Seconds(30),
      CancelToken::FromProbe(
          [&] { return absl::Now() - start > absl::Milliseconds(200); }),
      nullptr);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  auto late = FileLock::Acquire(path, absl::Now() + absl::Milliseconds(200),
                                CancelToken(), nullptr);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(FileLock, SharedHoldersCoexistAndKeepAnExclusiveTryOut) {
  absl::StatusOr<TempDir> dir = TempDir::Create("file-lock-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path path = dir->path() / "a.use";
  auto first = FileLock::AcquireShared(path, absl::Now() + absl::Seconds(5));
  auto second = FileLock::AcquireShared(path, absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(FileLock::TryAcquire(path).status().code(),
            absl::StatusCode::kUnavailable);
  { auto released = std::move(*first); }
  EXPECT_EQ(FileLock::TryAcquire(path).status().code(),
            absl::StatusCode::kUnavailable);
  { auto released = std::move(*second); }
  EXPECT_TRUE(FileLock::TryAcquire(path).ok());
}

TEST(FileLock, ASharedHolderWaitsOutAnExclusiveOneUntilItsDeadline) {
  absl::StatusOr<TempDir> dir = TempDir::Create("file-lock-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path path = dir->path() / "a.use";
  auto exclusive = FileLock::TryAcquire(path);
  ASSERT_TRUE(exclusive.ok()) << exclusive.status();
  auto late =
      FileLock::AcquireShared(path, absl::Now() + absl::Milliseconds(100));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);

  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(100));  // the test is about waiting
    auto released = std::move(*exclusive);
  });
  auto shared = FileLock::AcquireShared(path, absl::Now() + absl::Seconds(10));
  release.join();
  EXPECT_TRUE(shared.ok()) << shared.status();
}

TEST(FileLock, AWaiterForADeletedLockFileLocksTheNewFileAtThePath) {
  absl::StatusOr<TempDir> dir = TempDir::Create("file-lock-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path path = dir->path() / "a.lock";
  auto first = FileLock::TryAcquire(path);
  ASSERT_TRUE(first.ok()) << first.status();

  std::atomic<bool> waiting{false};
  std::optional<absl::StatusOr<FileLock>> second;
  std::thread waiter([&] {
    second = FileLock::Acquire(path, absl::Now() + absl::Seconds(10),
                               CancelToken(), [&](pid_t) { waiting = true; });
  });
  for (absl::Time end = absl::Now() + absl::Seconds(10);
       !waiting.load() && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(waiting.load());
  // The waiter has the old file open; it must not settle for that inode.
  ASSERT_TRUE(std::move(*first).RemoveFile().ok());
  waiter.join();
  ASSERT_TRUE(second->ok()) << second->status();
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(FileLock::TryAcquire(path).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cloudlet::vmm
