#ifndef CLOUDLET_TESTS_CLI_CLI_CHAIN_TEST_H_
#define CLOUDLET_TESTS_CLI_CLI_CHAIN_TEST_H_

// The fixture of the CLI's seam tests: the real cloudlet-api and
// cloudlet-vmm (tests/e2e chain.h) with host agents for VMs, a temp folder
// for configs, and `cloudlet` aimed at the chain.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/process/temp_dir.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_process.h"
#include "tests/e2e/chain.h"

namespace cloudlet::testing {

class CliRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-cli-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(*std::move(dir));
  }

  void Start(std::vector<std::string> vmm_flags = {},
             std::vector<std::string> api_flags = {}) {
    Chain::Options options;
    options.vmm_flags = std::move(vmm_flags);
    options.vmm_flags.push_back("--vm_provider=host_agent");
    options.api_flags = std::move(api_flags);
    absl::StatusOr<std::unique_ptr<Chain>> chain = Chain::Start(options);
    ASSERT_TRUE(chain.ok()) << chain.status();
    chain_ = *std::move(chain);
  }

  // Writes `source` as `file` and a config running it; returns the config.
  std::string Config(const std::string& language, const std::string& file,
                     const std::string& source,
                     const std::string& extra_toml = "") {
    std::ofstream(dir_->path() / file) << source;
    std::filesystem::path config = dir_->path() / "work.toml";
    std::ofstream(config) << "workload-name = \"cli-test\"\n"
                          << "language = \"" << language << "\"\n[build]\n"
                          << "source-code-path = \"" << file << "\"\n"
                          << extra_toml;
    return config.string();
  }

  std::string ShellConfig(const std::string& script,
                          const std::string& extra_toml = "") {
    return Config("shell", "main.sh", script, extra_toml);
  }

  // `cloudlet ARGS` aimed at the chain; never starts daemons of its own.
  CliOutcome Cloudlet(std::vector<std::string> args,
                      absl::Duration timeout = absl::Seconds(60),
                      std::filesystem::path cwd = {}) {
    CliInvocation call;
    call.args = std::move(args);
    call.cwd = std::move(cwd);
    call.env = CliEnvFor(*chain_);
    call.timeout = timeout;
    return RunCloudlet(CLOUDLET_CLI_BINARY, call);
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Chain> chain_;
};

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_CLI_CLI_CHAIN_TEST_H_
