// `cloudlet run` starts the daemons it finds next to itself in the build
// tree when no CLOUDLET_*_BINARY is set: that layout is what this checks
// (the autostart tests set the variables, so they would not notice a
// binary that moved).
#include <filesystem>

#include "cli/client/daemons.h"
#include "gtest/gtest.h"

namespace cloudlet::cli {
namespace {

namespace fs = std::filesystem;

TEST(BuildTree, TheCliFindsTheVmmAndApiItWasBuiltWithNextToIt) {
  DaemonEnvironment env;
  env.self_exe = CLOUDLET_CLI_BINARY;
  env.home = "/nonexistent";
  env.path = "";  // nothing from $PATH
  absl::StatusOr<DaemonSetup> setup = ResolveDaemons(
      ApiUrl{"http://127.0.0.1:3000", "127.0.0.1", 3000}, env);
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_EQ(fs::weakly_canonical(setup->vmm_binary),
            fs::weakly_canonical(CLOUDLET_VMM_BINARY));
  EXPECT_EQ(fs::weakly_canonical(setup->api_binary),
            fs::weakly_canonical(CLOUDLET_API_BINARY));
}

}  // namespace
}  // namespace cloudlet::cli
