#include "cli/config/project_tree.h"

#include <sys/stat.h>

#include <fstream>

#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ProjectTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-tree-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(*std::move(dir));
    root_ = dir_->path() / "project";
    fs::create_directories(root_);
  }
  void Write(const std::string& name, const std::string& content) {
    fs::path path = root_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }
  std::vector<std::string> Paths(const std::vector<v1::File>& files) {
    std::vector<std::string> paths;
    for (const v1::File& file : files) paths.push_back(file.path());
    return paths;
  }
  std::unique_ptr<TempDir> dir_;
  fs::path root_;
};

TEST_F(ProjectTreeTest, ReadsEveryFileSortedWithItsExecutableBit) {
  Write("src/main.rs", "fn main() {}");
  Write("Cargo.toml", "[package]");
  Write("run.sh", "echo");
  ::chmod((root_ / "run.sh").c_str(), 0755);
  absl::StatusOr<std::vector<v1::File>> files = ReadProjectTree(root_, 1 << 20);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(Paths(*files), ElementsAre("Cargo.toml", "run.sh", "src/main.rs"));
  EXPECT_EQ((*files)[2].content(), "fn main() {}");
  EXPECT_TRUE((*files)[1].executable());
  EXPECT_FALSE((*files)[0].executable());
}

TEST_F(ProjectTreeTest, LeavesOutGitAndWhatCloudletignoreNames) {
  Write("main.py", "");
  Write(".git/HEAD", "ref");
  Write("lib/.git/config", "");
  Write(".cloudletignore", "# outputs\ntarget/\n*.o\n/data\ndocs/*.md\n");
  Write("target/debug/x", "");
  Write("lib/target/y", "");
  Write("lib/util.o", "");
  Write("data", "");
  Write("lib/data", "kept: /data is anchored");
  Write("docs/a.md", "");
  Write("docs/b.txt", "");
  absl::StatusOr<std::vector<v1::File>> files = ReadProjectTree(root_, 1 << 20);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(Paths(*files), ElementsAre(".cloudletignore", "docs/b.txt",
                                         "lib/data", "main.py"));
}

TEST_F(ProjectTreeTest, FollowsSymlinksInsideAndRefusesThoseThatLeave) {
  Write("real/a.txt", "A");
  fs::create_symlink("real/a.txt", root_ / "link.txt");
  absl::StatusOr<std::vector<v1::File>> files = ReadProjectTree(root_, 1 << 20);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(Paths(*files), ElementsAre("link.txt", "real/a.txt"));
  EXPECT_EQ((*files)[0].content(), "A");

  std::ofstream(dir_->path() / "secret") << "s";
  fs::create_symlink("../secret", root_ / "escape");
  absl::Status escaped = ReadProjectTree(root_, 1 << 20).status();
  EXPECT_EQ(escaped.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(escaped.message(), HasSubstr("escape: is a symlink to"));
  EXPECT_THAT(escaped.message(), HasSubstr("outside the folder"));
  fs::remove(root_ / "escape");

  fs::create_symlink("/nonexistent/x", root_ / "dangling");
  EXPECT_THAT(ReadProjectTree(root_, 1 << 20).status().message(),
              HasSubstr("dangling: is a symlink that leads nowhere"));
  fs::remove(root_ / "dangling");

  fs::create_symlink(".", root_ / "loop");
  EXPECT_THAT(ReadProjectTree(root_, 1 << 20).status().message(),
              HasSubstr("a symlink loop?"));
}

TEST_F(ProjectTreeTest, RefusesAFolderOverTheCapNamingIt) {
  Write("a.bin", std::string(600, 'a'));
  Write("b.bin", std::string(600, 'b'));
  absl::Status big = ReadProjectTree(root_, 1000).status();
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.message(), HasSubstr("b.bin: the folder's files pass the "
                                       "limit of 1000 bytes"));
  EXPECT_THAT(big.message(), HasSubstr(".cloudletignore"));
}

}  // namespace
}  // namespace cloudlet::cli
