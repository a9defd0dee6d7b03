#include "vmm/artifacts/artifact_inputs.h"

#include <fstream>
#include <string>

#include "common/process/temp_dir.h"
#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

void Write(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path, std::ios::trunc) << content;
}

TEST(Sha256Hex, MatchesTheKnownDigest) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(InputHasher, FileDigestFollowsTheContent) {
  absl::StatusOr<TempDir> dir = TempDir::Create("inputs-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path file = dir->path() / "script.sh";
  Write(file, "abc");
  InputHasher hasher;
  EXPECT_EQ(*hasher.FileDigest(file), Sha256Hex("abc"));
  EXPECT_EQ(*hasher.FileDigest(file), Sha256Hex("abc"));  // memoized
  Write(file, "abcd");  // size (and mtime) change: hashed again
  EXPECT_EQ(*hasher.FileDigest(file), Sha256Hex("abcd"));
}

TEST(InputHasher, MissingFileIsNotFound) {
  InputHasher hasher;
  EXPECT_EQ(hasher.FileDigest("/nonexistent/cloudlet/file").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(InputHasher, AptStateIsStableWithinAProcess) {
  InputHasher hasher;
  std::string state = hasher.AptState();
  EXPECT_EQ(state.size(), 64u);
  EXPECT_EQ(hasher.AptState(), state);
}

}  // namespace
}  // namespace cloudlet::vmm
