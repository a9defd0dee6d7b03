// Every example in configs/ through `cloudlet run` against the real chain
// (API, VMM, a microVM per run, the agent inside): expected output, exit 0,
// and output that arrives while the workload runs.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_process.h"
#include "tests/e2e/chain.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;

struct Example {
  std::string name;    // test name
  std::string config;  // under configs/
  std::string expected_stdout;
  std::string expected_stderr_part;  // "" when none is printed
  absl::Duration timeout;
};

void PrintTo(const Example& example, std::ostream* os) { *os << example.name; }

class ExampleTest : public ::testing::TestWithParam<Example> {};

TEST_P(ExampleTest, RunsWithItsExpectedOutputAndExitsZero) {
  const Example& example = GetParam();
  absl::StatusOr<std::unique_ptr<Chain>> chain = Chain::Start({});
  ASSERT_TRUE(chain.ok()) << chain.status();
  CliInvocation call;
  call.args = {"run", "--no-start", "--config-path",
               absl::StrCat(CLOUDLET_SOURCE_DIR, "/configs/", example.config)};
  call.env = CliEnvFor(**chain);
  call.timeout = example.timeout;
  CliOutcome run = RunCloudlet(CLOUDLET_CLI_BINARY, call);
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, example.expected_stdout) << run.err;
  if (!example.expected_stderr_part.empty()) {
    EXPECT_THAT(run.err, HasSubstr(example.expected_stderr_part));
  }
  // Several lines, each printed ~0.7 s after the previous one: they must not
  // all arrive at the end in one piece.
  ASSERT_FALSE(run.out_pieces.empty());
  EXPECT_GE(run.out_pieces.back().first - run.out_pieces.front().first,
            absl::Milliseconds(1500))
      << "the example's output arrived in one burst";
  absl::Duration wall = run.ended - run.started;
  absl::Duration first_output = run.out_pieces.front().first - run.started;
  RecordProperty("wall_ms", static_cast<int>(absl::ToInt64Milliseconds(wall)));
  RecordProperty("first_output_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(first_output)));
  std::cout << absl::StrFormat("e2e example=%s wall=%.1fs first_output=%.1fs\n",
                               example.name, absl::ToDoubleSeconds(wall),
                               absl::ToDoubleSeconds(first_output));
}

INSTANTIATE_TEST_SUITE_P(
    Configs, ExampleTest,
    ::testing::Values(
        Example{"shell", "shell/hello.toml",
                "hello from a microVM\nrunning on Linux\nbye\n", "to stderr",
                absl::Minutes(2)},
        Example{"python", "python/countdown.toml",
                "3...\n2...\n1...\nliftoff from Python 3\n", "",
                absl::Minutes(2)},
        Example{"node", "node/ticker.toml",
                "tick 1\ntick 2\ntick 3\ndone from Node.js\n", "",
                absl::Minutes(2)},
        Example{"c", "c/primes.toml",
                "prime #1 is 2\nprime #2 is 3\nprime #3 is 5\nprime #4 is 7\n",
                "", absl::Minutes(3)},
        Example{"cpp", "cpp/squares.toml",
                "1 squared is 1\n2 squared is 4\n3 squared is 9\n"
                "4 squared is 16\n",
                "", absl::Minutes(3)},
        // Rust compiles for 10-20 s under TCG.
        Example{"rust", "rust/fibonacci.toml",
                "🚀 Loop 0\nFibonacci number at position 0 is: 0\n"
                "🚀 Loop 1\nFibonacci number at position 10 is: 55\n"
                "🚀 Loop 2\nFibonacci number at position 20 is: 6765\n"
                "🚀 Loop 3\nFibonacci number at position 30 is: 832040\n",
                "", absl::Minutes(5)},
        // Projects (folders). The first run of those with [build] packages
        // also builds their image variant (1-3 min), once per cache.
        Example{"c_project", "c/sieve.toml",
                "4 primes below 10\n25 primes below 100\n"
                "168 primes below 1000\n1229 primes below 10000\n",
                "", absl::Minutes(4)},
        Example{"node_project", "node/greeter.toml",
                "hello, Ada, from a node project\n"
                "hello, Grace, from a node project\n"
                "hello, Linus, from a node project\n"
                "hello, Barbara, from a node project\n",
                "", absl::Minutes(3)},
        Example{"python_project_numpy", "python/stats.toml",
                "small: mean 2.00, std 0.82\nsquares: mean 7.50, std 5.68\n"
                "ramp: mean 2.00, std 1.41\nflat: mean 7.00, std 0.00\n",
                "", absl::Minutes(10)},
        Example{"rust_project_serde_json", "rust/inventory.toml",
                "apples: 3\npears: 5\nplums: 8\n{\"total\":16}\n", "",
                absl::Minutes(14)}),
    [](const ::testing::TestParamInfo<Example>& param_info) {
      return param_info.param.name;
    });

}  // namespace
}  // namespace cloudlet::testing
