#include "common/process/list_directory.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet {
namespace {

using ::testing::UnorderedElementsAre;

TEST(ListDirectory, NamesEveryEntryButDotAndDotDot) {
  absl::StatusOr<TempDir> dir = TempDir::Create("list-directory-test-");
  ASSERT_TRUE(dir.ok());
  std::ofstream(dir->path() / "a");
  std::filesystem::create_directory(dir->path() / "b");
  std::filesystem::create_symlink("/nonexistent", dir->path() / "dangling");
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(dir->path());
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, UnorderedElementsAre("a", "b", "dangling"));
}

TEST(ListDirectory, AMissingOrUnlistableDirectoryIsAnErrorNamingIt) {
  absl::StatusOr<std::vector<std::string>> missing =
      ListDirectory("/nonexistent/cloudlet");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(missing.status().message()),
              ::testing::HasSubstr("/nonexistent/cloudlet"));

  absl::StatusOr<TempDir> dir = TempDir::Create("list-directory-test-");
  ASSERT_TRUE(dir.ok());
  std::ofstream(dir->path() / "file");
  EXPECT_FALSE(ListDirectory(dir->path() / "file").ok());  // not a folder
}

}  // namespace
}  // namespace cloudlet
