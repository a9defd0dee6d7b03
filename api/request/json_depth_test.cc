#include "api/request/json_depth.h"

#include <string>

#include "gtest/gtest.h"

namespace cloudlet::api {
namespace {

TEST(JsonNestingDepth, CountsArraysAndObjects) {
  EXPECT_EQ(JsonNestingDepth("42"), 0);
  EXPECT_EQ(JsonNestingDepth("{}"), 1);
  EXPECT_EQ(JsonNestingDepth(R"({"workload": {"env": {"A": "b"}}})"), 3);
  EXPECT_EQ(JsonNestingDepth(R"([[1], [[2]], {"a": [3]}])"), 3);
}

TEST(JsonNestingDepth, IgnoresBracketsInStrings) {
  EXPECT_EQ(JsonNestingDepth(R"({"code": "[[[{{{"})"), 1);
  EXPECT_EQ(JsonNestingDepth(R"({"code": "a \"[[[\" b", "x": [1]})"), 2);
  EXPECT_EQ(JsonNestingDepth(R"(["\\", [2]])"), 2);
}

TEST(JsonNestingDepth, MeasuresBrokenAndHostileInputInOnePass) {
  EXPECT_EQ(JsonNestingDepth(std::string(100000, '[')), 100000);
  EXPECT_EQ(JsonNestingDepth("]]]}}{"), 1);
  EXPECT_EQ(JsonNestingDepth(R"({"cut": "[[)"), 1);
}

}  // namespace
}  // namespace cloudlet::api
