#include "agent/plan/languages.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

v1::Workload Workload(v1::Language language, bool release = false) {
  v1::Workload workload;
  workload.set_language(language);
  workload.set_code("CODE");
  workload.set_release(release);
  return workload;
}

TEST(PlanWorkload, RustIsAGeneratedCargoProjectBuiltOffline) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Workload(v1::RUST));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->files, Contains(Pair("src/main.rs", "CODE")));
  EXPECT_THAT(plan->files,
              Contains(Pair("Cargo.toml", HasSubstr("[package]"))));
  // Release builds drop std's debug info, as cargo >= 1.77 does.
  EXPECT_THAT(plan->files, Contains(Pair("Cargo.toml",
                                         HasSubstr("strip = \"debuginfo\""))));
  ASSERT_TRUE(plan->build.has_value());
  EXPECT_THAT(plan->build->argv, ElementsAre("cargo", "build", "--offline"));
  EXPECT_THAT(plan->run.argv, ElementsAre("./target/debug/workload"));
  EXPECT_THAT(plan->build_outputs, ElementsAre("target/debug/workload"));
  EXPECT_TRUE(plan->run_needs_build);
  EXPECT_THAT(plan->required_tools, ElementsAre("cargo", "rustc"));
}

TEST(PlanWorkload, RustReleaseBuildsAndRunsTheReleaseBinary) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Workload(v1::RUST, true));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->build->Display(), "cargo build --offline --release");
  EXPECT_THAT(plan->run.argv, ElementsAre("./target/release/workload"));
}

TEST(PlanWorkload, CCompilesWithGccO2) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Workload(v1::C));
  ASSERT_TRUE(plan.ok());
  EXPECT_THAT(plan->files, ElementsAre(Pair("main.c", "CODE")));
  EXPECT_EQ(plan->build->Display(), "gcc -O2 -o main main.c -lm");
  EXPECT_THAT(plan->run.argv, ElementsAre("./main"));
  EXPECT_TRUE(plan->run_needs_build);
}

TEST(PlanWorkload, CppCompilesWithGxxCxx20) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Workload(v1::CPP));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->build->Display(), "g++ -O2 -std=c++20 -o main main.cpp -lm");
  EXPECT_THAT(plan->required_tools, ElementsAre("g++"));
}

TEST(PlanWorkload, PythonIsSyntaxCheckedAndRunsUnbuffered) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Workload(v1::PYTHON));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->build->Display(), "python3 -m py_compile main.py");
  EXPECT_FALSE(plan->run_needs_build);
  EXPECT_THAT(plan->run.argv, ElementsAre("python3", "main.py"));
  EXPECT_THAT(plan->env, Contains(Pair("PYTHONUNBUFFERED", "1")));
}

TEST(PlanWorkload, NodeIsSyntaxCheckedWithNodeCheck) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Workload(v1::NODE));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->build->Display(), "node --check main.js");
  EXPECT_THAT(plan->run.argv, ElementsAre("node", "main.js"));
}

TEST(PlanWorkload, ShellHasNoBuildStage) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Workload(v1::SHELL));
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->build.has_value());
  EXPECT_THAT(plan->run.argv, ElementsAre("sh", "main.sh"));
}

TEST(PlanWorkload, UnsetLanguageIsInvalidAndListsTheLanguages) {
  absl::StatusOr<LanguagePlan> plan =
      PlanWorkload(Workload(v1::LANGUAGE_UNSPECIFIED));
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("not set"));
  EXPECT_THAT(plan.status().message(), HasSubstr("rust"));
}

TEST(PlanWorkload, UnknownLanguageNumberIsInvalid) {
  absl::StatusOr<LanguagePlan> plan =
      PlanWorkload(Workload(static_cast<v1::Language>(42)));
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("unknown language 42"));
}

}  // namespace
}  // namespace cloudlet::agent
