#include "api/http/bearer_auth.h"

#include <fstream>

#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::api {
namespace {

using ::testing::HasSubstr;

TEST(CheckBearer, TakesTheTokenOnlyAfterTheBearerScheme) {
  const std::string token = "0123456789abcdef0123";
  EXPECT_TRUE(CheckBearer("Bearer 0123456789abcdef0123", token).ok());
  EXPECT_TRUE(CheckBearer("bearer 0123456789abcdef0123", token).ok());
  for (const char* wrong : {"", "0123456789abcdef0123", "Basic abc",
                            "Bearer 0123456789abcdef012", "Bearer 0123456789abcdef01234",
                            "Bearer x123456789abcdef0123"}) {
    absl::Status status = CheckBearer(wrong, token);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << wrong;
  }
  EXPECT_THAT(CheckBearer("", token).message(), HasSubstr("CLOUDLET_TOKEN"));
}

TEST(ReadAuthToken, TrimsTheFileAndRefusesShortOrMissingTokens) {
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-token-test-");
  ASSERT_TRUE(dir.ok());
  const std::string path = (dir->path() / "token").string();
  std::ofstream(path) << "  0123456789abcdef0123\n";
  EXPECT_EQ(*ReadAuthToken(path), "0123456789abcdef0123");
  std::ofstream(path) << "short\n";
  EXPECT_THAT(ReadAuthToken(path).status().message(),
              HasSubstr("use at least 16"));
  EXPECT_FALSE(ReadAuthToken((dir->path() / "absent").string()).ok());
}

}  // namespace
}  // namespace cloudlet::api
