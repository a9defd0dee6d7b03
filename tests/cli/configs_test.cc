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
  int files = 0;
  int projects = 0;
  // configs/<language>/<example>.toml; the projects' own files (a
  // Cargo.toml among them) sit one level deeper.
  for (const auto& language : fs::directory_iterator(
           fs::path(CLOUDLET_SOURCE_DIR) / "configs")) {
    for (const auto& entry : fs::directory_iterator(language.path())) {
      if (entry.path().extension() != ".toml") continue;
      absl::StatusOr<cli::WorkloadConfig> config =
          cli::LoadWorkloadConfig(entry.path());
      ASSERT_TRUE(config.ok()) << config.status();
      EXPECT_TRUE(config->warnings.empty()) << entry.path();
      const v1::Workload& workload = config->request.workload();
      EXPECT_EQ(LanguageName(workload.language()),
                language.path().filename().string())
          << entry.path();
      if (workload.files().empty()) {
        EXPECT_FALSE(workload.code().empty()) << entry.path();
        ++files;
      } else {
        ++projects;
      }
    }
  }
  EXPECT_EQ(files, 6);     // one file per language
  EXPECT_EQ(projects, 4);  // rust, python, c and node projects
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
