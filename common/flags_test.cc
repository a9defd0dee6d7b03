#include "common/flags.h"

#include "gtest/gtest.h"

namespace cloudlet {
namespace {

TEST(NormalizeFlagNames, TurnsDashesInNamesIntoUnderscores) {
  const char* argv[] = {"prog", "--max-vms=3", "--log-level", "debug-x",
                        "-x-y", "--", "--not-a-flag"};
  std::vector<std::string> args =
      NormalizeFlagNames(7, const_cast<char**>(argv));
  EXPECT_EQ(args, (std::vector<std::string>{"prog", "--max_vms=3",
                                            "--log_level", "debug-x", "-x_y",
                                            "--", "--not-a-flag"}));
}

TEST(NormalizeFlagNames, LeavesValuesAlone) {
  const char* argv[] = {"prog", "--listen=127.0.0.1:50-51"};
  EXPECT_EQ(NormalizeFlagNames(2, const_cast<char**>(argv))[1],
            "--listen=127.0.0.1:50-51");
}

}  // namespace
}  // namespace cloudlet
