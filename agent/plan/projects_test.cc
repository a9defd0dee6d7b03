#include "agent/plan/projects.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/plan/languages.h"

namespace cloudlet::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

v1::Workload Project(v1::Language language,
                     std::initializer_list<std::pair<const char*, const char*>>
                         files) {
  v1::Workload workload;
  workload.set_language(language);
  for (const auto& [path, content] : files) {
    v1::File* file = workload.add_files();
    file->set_path(path);
    file->set_content(content);
  }
  return workload;
}

TEST(PlanProject, RustRunsTheBinaryNamedAfterThePackage) {
  v1::Workload workload = Project(
      v1::RUST, {{"Cargo.toml", "[package]\nname = \"json-demo\"\n"},
                 {"src/main.rs", "fn main() {}"}});
  workload.set_release(true);
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(workload);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->build->argv, Contains("--offline"));
  EXPECT_THAT(plan->build->argv,
              Contains("source.debian.directory=\"/usr/share/cargo/registry\""));
  EXPECT_THAT(plan->run.argv, ElementsAre("./target/release/json-demo"));
  EXPECT_THAT(plan->build_outputs, ElementsAre("target/release/json-demo"));
  EXPECT_THAT(plan->files, Contains(Pair("src/main.rs", "fn main() {}")));
}

TEST(PlanProject, RustWithoutAManifestOrPackageNameIsRefused) {
  EXPECT_THAT(PlanWorkload(Project(v1::RUST, {{"src/main.rs", "fn main(){}"}}))
                  .status()
                  .message(),
              HasSubstr("has no Cargo.toml"));
  EXPECT_THAT(PlanWorkload(Project(v1::RUST, {{"Cargo.toml", "[package"}}))
                  .status()
                  .message(),
              HasSubstr("not valid TOML"));
  EXPECT_THAT(PlanWorkload(Project(v1::RUST, {{"Cargo.toml", "[workspace]"}}))
                  .status()
                  .message(),
              HasSubstr("without a usable [package] name"));
}

TEST(PlanProject, PythonRunsMainOrTheEntrypointWithTheProjectOnPath) {
  v1::Workload workload =
      Project(v1::PYTHON, {{"main.py", "import util"}, {"util.py", ""}});
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(workload);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->run.argv, ElementsAre("python3", "main.py"));
  EXPECT_THAT(plan->env, Contains(Pair("PYTHONPATH", ".")));
  workload.set_entrypoint("util.py");
  EXPECT_THAT(PlanWorkload(workload)->run.argv,
              ElementsAre("python3", "util.py"));
  workload.set_entrypoint("app.py");
  EXPECT_THAT(PlanWorkload(workload).status().message(),
              HasSubstr("has no app.py (its [build] entrypoint)"));
  EXPECT_THAT(PlanWorkload(Project(v1::PYTHON, {{"app.py", ""}}))
                  .status()
                  .message(),
              HasSubstr("has no main.py; add one or set [build] entrypoint"));
}

TEST(PlanProject, NodeRunsPackageJsonsMainElseIndex) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Project(
      v1::NODE, {{"package.json", "{\"name\": \"x\", \"main\": \"./src/app.js\"}"},
                 {"src/app.js", ""}}));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->run.argv, ElementsAre("node", "src/app.js"));
  EXPECT_THAT(PlanWorkload(Project(v1::NODE, {{"index.js", ""}}))->run.argv,
              ElementsAre("node", "index.js"));
  EXPECT_THAT(PlanWorkload(Project(v1::NODE, {{"package.json", "[1"}}))
                  .status()
                  .message(),
              HasSubstr("not a JSON object"));
}

TEST(PlanProject, CWithAMakefileRunsItsFirstTarget) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(
      Project(v1::C, {{"Makefile", "CC := gcc\n.PHONY: all\nprimes: a.o b.o\n"
                                   "\t$(CC) -o $@ $^\n"},
                      {"a.c", ""}}));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->build->argv, ElementsAre("make"));
  EXPECT_THAT(plan->run.argv, ElementsAre("./primes"));
  EXPECT_THAT(plan->build_outputs, ElementsAre("primes"));
  EXPECT_THAT(plan->required_tools, ElementsAre("make", "gcc"));
}

TEST(PlanProject, CppWithoutAMakefileCompilesTheRootSources) {
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(Project(
      v1::CPP, {{"util.cc", ""}, {"main.cpp", ""}, {"test/skip.cpp", ""},
                {"README", ""}}));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->build->argv,
              ElementsAre("g++", "-O2", "-std=c++20", "-o", "main", "main.cpp",
                          "util.cc", "-lm"));
  EXPECT_THAT(PlanWorkload(Project(v1::C, {{"README", ""}})).status().message(),
              HasSubstr("neither a Makefile nor a .c file"));
}

TEST(PlanProject, ShellRunsMainShAndKeepsExecutableBits) {
  v1::Workload workload = Project(v1::SHELL, {{"main.sh", "./tool.sh"},
                                              {"tool.sh", "echo hi"}});
  workload.mutable_files(1)->set_executable(true);
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(workload);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->run.argv, ElementsAre("sh", "main.sh"));
  EXPECT_THAT(plan->executable_files, ElementsAre("tool.sh"));
}

TEST(FirstMakeTarget, SkipsAssignmentsSpecialAndPatternRules) {
  EXPECT_EQ(FirstMakeTarget("# build\nCC = gcc\nX ::= y\n.PHONY: app\n"
                            "%.o: %.c\n\tcc\napp tool: main.o\n"),
            "app");
  EXPECT_EQ(FirstMakeTarget("all:\n\techo\n"), "all");
  EXPECT_EQ(FirstMakeTarget("CFLAGS = -O2\n"), "");
}

TEST(RustCrateName, UsesTheWorkloadNameWhenCargoTakesIt) {
  EXPECT_EQ(RustCrateName("fibonacci"), "fibonacci");
  EXPECT_EQ(RustCrateName("my-app_2"), "my-app_2");
  for (const char* bad : {"", "2fast", "with space", "test", "self", "a/b",
                          "caf\xc3\xa9"}) {
    EXPECT_EQ(RustCrateName(bad), "workload") << bad;
  }
}

}  // namespace
}  // namespace cloudlet::agent
