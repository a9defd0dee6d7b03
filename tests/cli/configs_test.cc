// Every example in configs/ loads as the CLI would load it, in the language
// its folder names. (tests/e2e runs them in VMs.)
#include <filesystem>

#include "cli/config/workload_config.h"
#include "common/workload_names.h"
#include "gtest/gtest.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;

TEST(Configs, EveryExampleLoadsInItsFoldersLanguage) {
  int examples = 0;
  for (const auto& entry : fs::recursive_directory_iterator(
           fs::path(CLOUDLET_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    ++examples;
    absl::StatusOr<cli::WorkloadConfig> config =
        cli::LoadWorkloadConfig(entry.path());
    ASSERT_TRUE(config.ok()) << config.status();
    std::string folder = entry.path().parent_path().filename().string();
    EXPECT_EQ(LanguageName(config->request.workload().language()), folder)
        << entry.path();
    EXPECT_FALSE(config->request.workload().code().empty());
  }
  EXPECT_EQ(examples, 6);  // one per language
}

TEST(Configs, RustExampleIsCloudletsConfigVerbatim) {
  absl::StatusOr<cli::WorkloadConfig> config = cli::LoadWorkloadConfig(
      fs::path(CLOUDLET_SOURCE_DIR) / "configs/rust/fibonacci.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->request.workload().name(), "fibonacci");
  EXPECT_EQ(config->request.workload().action(), v1::PREPARE_AND_RUN);
  EXPECT_TRUE(config->request.workload().release());
  EXPECT_EQ(config->request.vm().agent_port(), 50051u);
}

}  // namespace
}  // namespace cloudlet::testing
