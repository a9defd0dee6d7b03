#include "common/process/temp_dir.h"

#include <fstream>

#include "gtest/gtest.h"

namespace cloudlet {
namespace {

TEST(TempDir, IsRemovedWithItsContents) {
  std::filesystem::path path;
  {
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    path = dir->path();
    std::filesystem::create_directories(path / "a/b");
    std::ofstream(path / "a/b/file") << "x";
    EXPECT_TRUE(std::filesystem::exists(path / "a/b/file"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TempDir, MovedFromDoesNotRemove) {
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path path = dir->path();
  {
    TempDir moved = *std::move(dir);
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TempDir, MissingParentIsAnError) {
  EXPECT_FALSE(TempDir::Create("x", "/nonexistent/cloudlet").ok());
}

}  // namespace
}  // namespace cloudlet
