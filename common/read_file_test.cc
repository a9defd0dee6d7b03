#include "common/read_file.h"

#include <fstream>

#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet {
namespace {

TEST(ReadFileUpTo, ReadsAFileUpToTheLimitAndRefusesOneOverIt) {
  absl::StatusOr<TempDir> dir = TempDir::Create("read-file-test-");
  ASSERT_TRUE(dir.ok());
  const std::filesystem::path file = dir->path() / "f";
  std::ofstream(file, std::ios::binary) << std::string("a\0b", 3);
  absl::StatusOr<std::string> read = ReadFileUpTo(file, 3);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, std::string("a\0b", 3));
  absl::StatusOr<std::string> over = ReadFileUpTo(file, 2);
  EXPECT_TRUE(absl::IsResourceExhausted(over.status()));
  EXPECT_THAT(over.status().message(), ::testing::HasSubstr("over the limit of 2"));
  EXPECT_TRUE(absl::IsNotFound(ReadFileUpTo(dir->path() / "none", 10).status()));
}

}  // namespace
}  // namespace cloudlet
