#include "cli/config/source_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::cli {
namespace {

using ::testing::HasSubstr;

TEST(CheckSourceText, AcceptsText) {
  EXPECT_TRUE(CheckSourceText("main.sh", "echo h\xc3\xa9llo\n").ok());
}

TEST(CheckSourceText, RefusesAnEmptyFileNamingIt) {
  absl::Status status = CheckSourceText("main.sh", "");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "main.sh is empty; give the program's source");
}

TEST(CheckSourceText, RefusesBinaryNamingTheFileAndTheLine) {
  absl::Status status =
      CheckSourceText("prog.py", "one\ntwo\n\x7f" "ELF\xff");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("prog.py is not UTF-8 text (line 3, byte 0xff)"));
  // A NUL byte is valid UTF-8, but no source has one.
  status = CheckSourceText("a.c", std::string("int\0x", 5));
  EXPECT_THAT(status.message(),
              HasSubstr("a.c is not UTF-8 text (line 1, byte 0x00)"));
}

}  // namespace
}  // namespace cloudlet::cli
