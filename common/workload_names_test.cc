#include "common/workload_names.h"

#include "gtest/gtest.h"

namespace cloudlet {
namespace {

TEST(WorkloadNames, ParsesEveryLanguageBothWays) {
  for (auto language : {v1::RUST, v1::PYTHON, v1::NODE, v1::C, v1::CPP,
                        v1::SHELL}) {
    absl::StatusOr<v1::Language> parsed = ParseLanguage(LanguageName(language));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, language);
  }
  EXPECT_EQ(*ParseLanguage("PYTHON"), v1::PYTHON);
}

TEST(WorkloadNames, UnknownLanguageNamesTheChoices) {
  absl::StatusOr<v1::Language> parsed = ParseLanguage("go");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(),
            "language: unknown value \"go\"; expected one of rust, python, "
            "node, c, cpp, shell");
}

TEST(WorkloadNames, ParsesCloudletActionSpellings) {
  EXPECT_EQ(*ParseAction("prepare-and-run"), v1::PREPARE_AND_RUN);
  EXPECT_EQ(*ParseAction("PREPARE_AND_RUN"), v1::PREPARE_AND_RUN);
  EXPECT_EQ(*ParseAction("run"), v1::RUN);
  EXPECT_FALSE(ParseAction("jump").ok());
}

TEST(WorkloadNames, StageAndReasonNamesAreLowerCase) {
  EXPECT_EQ(StageName(v1::BUILDING), "building");
  EXPECT_EQ(ReasonName(v1::BUILD_FAILED), "build_failed");
}

}  // namespace
}  // namespace cloudlet
