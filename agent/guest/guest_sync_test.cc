#include "agent/guest/guest_sync.h"

#include <sys/random.h>

#include <string>

#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

// These change the machine's clock and entropy pool, and need root (as
// the agent has in a guest). The clock is only ever set to the current
// time.

TEST(MixHostEntropy, MixesRandomBytesAndReseeds) {
  std::string bytes(32, '\0');
  ASSERT_EQ(::getrandom(bytes.data(), bytes.size(), 0),
            static_cast<ssize_t>(bytes.size()));
  absl::Status status = MixHostEntropy(bytes);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(MixHostEntropy, DoesNothingForEmptyInput) {
  absl::Status status = MixHostEntropy("");
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ApplyHostTime, SetsTheClockToTheCurrentTimeWithoutMovingIt) {
  absl::Time before = absl::Now();
  absl::Status status = ApplyHostTime(absl::Now());
  absl::Time after = absl::Now();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_LT(absl::AbsDuration(after - before), absl::Seconds(1));
}

}  // namespace
}  // namespace cloudlet::agent
