#include "agent/service/run_registry.h"

#include <signal.h>

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RunRegistry, RefusesADuplicateRunId) {
  RunRegistry registry(4);
  absl::StatusOr<RunRegistry::Registration> first = registry.Register("a");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<RunRegistry::Registration> second = registry.Register("a");
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(RunRegistry, FreesTheIdWhenTheRegistrationEnds) {
  RunRegistry registry(4);
  {
    absl::StatusOr<RunRegistry::Registration> first = registry.Register("a");
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(registry.active_runs(), 1u);
  }
  EXPECT_EQ(registry.active_runs(), 0u);
  EXPECT_TRUE(registry.Register("a").ok());
}

TEST(RunRegistry, RefusesRunsBeyondItsLimit) {
  RunRegistry registry(1);
  absl::StatusOr<RunRegistry::Registration> first = registry.Register("a");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(registry.Register("b").status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(RunRegistry, SignalOfAnUnknownRunIsNotFound) {
  RunRegistry registry(1);
  absl::Status status = registry.Signal("nope", SIGTERM);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("nope"));
}

TEST(RunRegistry, SignalReachesTheRunAsACancelRequest) {
  RunRegistry registry(1);
  absl::StatusOr<RunRegistry::Registration> run = registry.Register("a");
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(registry.Signal("a", SIGTERM).ok());
  ASSERT_TRUE(registry.Signal("a", 0).ok());
  RunControl& control = run->control();
  std::optional<StopRequest> stop = control.stop_request();
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->reason, v1::CANCELLED);
  EXPECT_THAT(stop->message, HasSubstr("signal 15"));
  EXPECT_THAT(control.TakePendingSignals(), ElementsAre(SIGTERM, SIGKILL));
  EXPECT_TRUE(control.TakePendingSignals().empty());
}

TEST(RunRegistry, RejectsANonSignalNumber) {
  RunRegistry registry(1);
  absl::StatusOr<RunRegistry::Registration> run = registry.Register("a");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(registry.Signal("a", 1000).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RunRegistry, StopAllStopsRunsAndRefusesNewOnes) {
  RunRegistry registry(2);
  absl::StatusOr<RunRegistry::Registration> run = registry.Register("a");
  ASSERT_TRUE(run.ok());
  registry.StopAll(v1::SHUTTING_DOWN, "bye");
  EXPECT_FALSE(registry.accepting());
  EXPECT_EQ(run->control().stop_request()->reason, v1::SHUTTING_DOWN);
  EXPECT_EQ(registry.Register("b").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cloudlet::agent
