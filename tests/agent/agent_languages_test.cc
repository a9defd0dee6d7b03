// Hello-world in every language, built and run by a real agent with the
// toolchains scripts/setup installs.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process.h"

namespace cloudlet::agent_test {
namespace {

struct HelloCase {
  const char* name;
  v1::Language language;
  const char* code;
  bool has_build_stage;
};

class HelloWorld : public ::testing::TestWithParam<HelloCase> {};

TEST_P(HelloWorld, BuildsRunsAndPrintsHello) {
  const HelloCase& hello = GetParam();
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start();
  ASSERT_TRUE(agent.ok()) << agent.status();

  RunRecord run = Execute((*agent)->stub(), Request(hello.language, hello.code),
                          absl::Seconds(120));
  ASSERT_TRUE(run.status.ok()) << run.Summary();
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->status(), v1::DONE) << run.Summary();
  EXPECT_EQ(run.result->reason(), v1::EXITED);
  EXPECT_EQ(run.result->exit_code(), 0);
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT),
            absl::StrCat("Hello from ", hello.name, "\n"));
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDERR), "");

  ASSERT_FALSE(run.events.empty());
  EXPECT_TRUE(run.events.front().has_accepted());
  EXPECT_TRUE(run.events.back().has_result());
  bool built = false;
  for (const v1::ExecuteEvent& event : run.events) {
    built |= event.has_stage() && event.stage().stage() == v1::BUILDING;
  }
  EXPECT_EQ(built, hello.has_build_stage);
  EXPECT_EQ(run.result->timings().has_build(), hello.has_build_stage);
  EXPECT_TRUE(run.result->timings().has_run());
}

INSTANTIATE_TEST_SUITE_P(
    AllLanguages, HelloWorld,
    ::testing::Values(
        HelloCase{"rust", v1::RUST,
                  "fn main() { println!(\"Hello from rust\"); }\n", true},
        HelloCase{"python", v1::PYTHON, "print('Hello from python')\n", true},
        HelloCase{"node", v1::NODE, "console.log('Hello from node');\n", true},
        HelloCase{"c", v1::C,
                  "#include <stdio.h>\n"
                  "int main(void) { puts(\"Hello from c\"); return 0; }\n",
                  true},
        HelloCase{"cpp", v1::CPP,
                  "#include <iostream>\n"
                  "#include <string_view>\n"
                  "int main() { std::string_view who = \"cpp\";\n"
                  "  std::cout << \"Hello from \" << who << '\\n'; }\n",
                  true},
        HelloCase{"shell", v1::SHELL, "echo \"Hello from shell\"\n", false}),
    [](const ::testing::TestParamInfo<HelloCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(RustRelease, BuildsWithCargoReleaseAndRuns) {
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start();
  ASSERT_TRUE(agent.ok()) << agent.status();
  v1::ExecuteRequest request = Request(
      v1::RUST,
      "fn main() {\n"
      "  let args: Vec<String> = std::env::args().skip(1).collect();\n"
      "  let fib = |n: u64| (0..n).fold((0u64, 1u64), |(a, b), _| (b, a + "
      "b)).0;\n"
      "  println!(\"fib({}) = {}\", args[0], fib(args[0].parse().unwrap()));\n"
      "}\n");
  request.mutable_workload()->set_release(true);
  request.mutable_workload()->add_args("30");
  RunRecord run = Execute((*agent)->stub(), request, absl::Seconds(120));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->status(), v1::DONE) << run.Summary();
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT), "fib(30) = 832040\n");
  bool release_build = false;
  for (const v1::ExecuteEvent& event : run.events) {
    release_build |= event.has_stage() && event.stage().detail() ==
                                              "cargo build --offline --release";
  }
  EXPECT_TRUE(release_build) << run.Summary();
}

}  // namespace
}  // namespace cloudlet::agent_test
