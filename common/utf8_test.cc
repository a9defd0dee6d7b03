#include "common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace cloudlet {
namespace {

TEST(IsValidUtf8, AcceptsAsciiAndMultibyteText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("print('hi')\n"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("\xef\xbb\xbf// a BOM"));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
}

TEST(IsValidUtf8, RejectsMalformedSequencesAndSaysWhere) {
  struct Case {
    std::string text;
    size_t offset;
  } cases[] = {
      {"ab\xff", 2},                   // never valid
      {"a\x80", 1},                    // lone continuation byte
      {"\xc3", 0},                     // cut short
      {"x\xe2\x82", 1},                // cut short
      {"\xc0\xaf", 0},                 // overlong '/'
      {"\xe0\x80\xaf", 0},             // overlong
      {"\xed\xa0\x80", 0},             // a surrogate
      {"\xf4\x90\x80\x80", 0},         // above U+10FFFF
      {"ok \xc3\xa9 \xc3\x28", 6},     // bad second byte
  };
  for (const Case& c : cases) {
    size_t offset = 99;
    EXPECT_FALSE(IsValidUtf8(c.text, &offset)) << c.text;
    EXPECT_EQ(offset, c.offset) << c.text;
  }
}

}  // namespace
}  // namespace cloudlet
