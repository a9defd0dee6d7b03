#include "vmm/run/slot_limiter.h"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

TEST(SlotLimiter, GrantsSlotsAtOnceUpToMaxRunning) {
  SlotLimiter limiter(2, 1);
  absl::StatusOr<SlotLimiter::Ticket> a = limiter.Admit();
  absl::StatusOr<SlotLimiter::Ticket> b = limiter.Admit();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(a->holds_slot());
  EXPECT_TRUE(b->holds_slot());
  EXPECT_EQ(limiter.running(), 2);
  EXPECT_EQ(limiter.queued(), 0);
}

TEST(SlotLimiter, QueuesBeyondMaxRunningAndRejectsBeyondMaxQueue) {
  SlotLimiter limiter(1, 1);
  absl::StatusOr<SlotLimiter::Ticket> running = limiter.Admit();
  absl::StatusOr<SlotLimiter::Ticket> queued = limiter.Admit();
  absl::StatusOr<SlotLimiter::Ticket> rejected = limiter.Admit();
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(queued.ok());
  EXPECT_FALSE(queued->holds_slot());
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limiter.queued(), 1);
}

TEST(SlotLimiter, ReleasingASlotHandsItToTheFrontOfTheQueue) {
  SlotLimiter limiter(1, 2);
  std::optional<SlotLimiter::Ticket> running(*limiter.Admit());
  SlotLimiter::Ticket first = *limiter.Admit();
  SlotLimiter::Ticket second = *limiter.Admit();
  running.reset();
  EXPECT_TRUE(first.holds_slot());
  EXPECT_FALSE(second.holds_slot());
  EXPECT_TRUE(first.WaitForSlot({}, nullptr).ok());
}

TEST(SlotLimiter, WaiterReportsItsPositionAndRunsWhenTheSlotFrees) {
  SlotLimiter limiter(1, 2);
  std::optional<SlotLimiter::Ticket> running(*limiter.Admit());
  std::optional<SlotLimiter::Ticket> ahead(*limiter.Admit());
  SlotLimiter::Ticket waiter = *limiter.Admit();

  std::vector<int> positions;
  absl::Notification reported_two;
  absl::Status waited;
  std::thread thread([&] {
    waited = waiter.WaitForSlot({}, [&](int position) {
      positions.push_back(position);
      if (position == 2) reported_two.Notify();
    });
  });
  ASSERT_TRUE(reported_two.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ahead.reset();    // the waiter moves to position 1
  running.reset();  // and then gets the slot
  thread.join();
  EXPECT_TRUE(waited.ok()) << waited;
  ASSERT_FALSE(positions.empty());
  EXPECT_EQ(positions.front(), 2);
  EXPECT_TRUE(waiter.holds_slot());
  EXPECT_EQ(limiter.running(), 1);
}

TEST(SlotLimiter, WaitersAreServedFirstComeFirstServed) {
  SlotLimiter limiter(1, 3);
  std::optional<SlotLimiter::Ticket> running(*limiter.Admit());
  std::vector<SlotLimiter::Ticket> waiters;
  for (int i = 0; i < 3; ++i) waiters.push_back(*limiter.Admit());

  std::mutex order_mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      ASSERT_TRUE(waiters[i].WaitForSlot({}, nullptr).ok());
      {
        std::lock_guard<std::mutex> lock(order_mu);
        order.push_back(i);
      }
      SlotLimiter::Ticket done = std::move(waiters[i]);  // frees the slot
    });
  }
  running.reset();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(limiter.running(), 0);
  EXPECT_EQ(limiter.queued(), 0);
}

TEST(SlotLimiter, CancelledWaiterLeavesTheQueue) {
  SlotLimiter limiter(1, 1);
  SlotLimiter::Ticket running = *limiter.Admit();
  std::optional<SlotLimiter::Ticket> waiter(*limiter.Admit());
  std::atomic<bool> cancel{false};
  absl::Status waited;
  std::thread thread([&] {
    waited = waiter->WaitForSlot(
        CancelToken::FromProbe([&] { return cancel.load(); }), nullptr);
  });
  cancel = true;
  thread.join();
  EXPECT_EQ(waited.code(), absl::StatusCode::kCancelled);
  waiter.reset();
  EXPECT_EQ(limiter.queued(), 0);
  EXPECT_TRUE(limiter.Admit().ok());  // its place is free again
}

TEST(SlotLimiter, CloseRejectsNewRunsAndWakesWaiters) {
  SlotLimiter limiter(1, 1);
  SlotLimiter::Ticket running = *limiter.Admit();
  SlotLimiter::Ticket waiter = *limiter.Admit();
  absl::Status waited;
  std::thread thread([&] { waited = waiter.WaitForSlot({}, nullptr); });
  limiter.Close();
  thread.join();
  EXPECT_EQ(waited.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(limiter.Admit().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(running.holds_slot());
}

TEST(SlotLimiter, TellsItsObserverWhenItStopsAndStartsTakingRuns) {
  SlotLimiter limiter(1, 1);
  std::vector<bool> heard;
  limiter.SetAdmissionObserver([&](bool accepting) { heard.push_back(accepting); });
  std::optional<SlotLimiter::Ticket> running(*limiter.Admit());
  EXPECT_TRUE(heard.empty());  // a queue place is left
  std::optional<SlotLimiter::Ticket> queued(*limiter.Admit());
  EXPECT_EQ(heard, std::vector<bool>({false}));
  EXPECT_FALSE(limiter.accepting());
  running.reset();  // the queued run takes the slot: a queue place is free
  EXPECT_EQ(heard, std::vector<bool>({false, true}));
  limiter.Close();
  EXPECT_EQ(heard, std::vector<bool>({false, true, false}));
}

}  // namespace
}  // namespace cloudlet::vmm
