#include "common/rpc/port_file.h"

#include <fstream>
#include <sstream>

#include "common/process/temp_dir.h"
#include "gtest/gtest.h"

namespace cloudlet {
namespace {

TEST(WritePortFile, WritesThePortAndANewlineAndLeavesNoTempFile) {
  absl::StatusOr<TempDir> dir = TempDir::Create("port-file-test");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::filesystem::path path = dir->path() / "port";
  ASSERT_TRUE(WritePortFile(path, 50051).ok());
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), "50051\n");
  EXPECT_FALSE(std::filesystem::exists(dir->path() / "port.tmp"));
}

TEST(WritePortFile, AMissingFolderIsAnErrorNamingTheFile) {
  absl::Status status = WritePortFile("/nonexistent-cloudlet-dir/port", 1);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/nonexistent-cloudlet-dir/port"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace cloudlet
