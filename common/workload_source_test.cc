#include "common/workload_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/run_limits.h"

namespace cloudlet {
namespace {

using ::testing::HasSubstr;

v1::Workload Project(std::initializer_list<const char*> paths) {
  v1::Workload workload;
  for (const char* path : paths) {
    v1::File* file = workload.add_files();
    file->set_path(path);
    file->set_content("x");
  }
  return workload;
}

TEST(ValidateProjectPath, TakesPlainRelativePaths) {
  EXPECT_TRUE(ValidateProjectPath("main.py").ok());
  EXPECT_TRUE(ValidateProjectPath("src/bin/tool.rs").ok());
  EXPECT_TRUE(ValidateProjectPath(".cargo/config.toml").ok());
}

TEST(ValidateProjectPath, RefusesPathsThatLeaveOrBlurTheProject) {
  for (const char* path : {"", "/etc/passwd", "../x", "a/../../b", "./a",
                           "a//b", "a/", "a/."}) {
    EXPECT_FALSE(ValidateProjectPath(path).ok()) << path;
  }
  EXPECT_THAT(ValidateProjectPath("a/../b").message(),
              HasSubstr("leaves the project"));
  EXPECT_FALSE(ValidateProjectPath(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateProjectPath(std::string(1025, 'a')).ok());
}

TEST(ValidateWorkloadSource, WantsExactlyOneOfCodeAndFiles) {
  v1::Workload neither;
  EXPECT_THAT(ValidateWorkloadSource(neither, 100).message(),
              HasSubstr("give the program's source"));
  v1::Workload both = Project({"main.py"});
  both.set_code("print(1)");
  EXPECT_THAT(ValidateWorkloadSource(both, 100).message(),
              HasSubstr("not both"));
  v1::Workload file;
  file.set_code("print(1)");
  EXPECT_TRUE(ValidateWorkloadSource(file, 100).ok());
  EXPECT_TRUE(ValidateWorkloadSource(Project({"a.py", "b/c.py"}), 100).ok());
}

TEST(ValidateWorkloadSource, NamesTheBadFileAndTheLimits) {
  EXPECT_THAT(ValidateWorkloadSource(Project({"a", "../b"}), 100).message(),
              HasSubstr("workload.files[1].path"));
  EXPECT_THAT(ValidateWorkloadSource(Project({"a", "a"}), 100).message(),
              HasSubstr("given twice"));
  // "main.py" + "x" = 8 bytes, counted against the cap.
  EXPECT_TRUE(ValidateWorkloadSource(Project({"main.py"}), 8).ok());
  EXPECT_THAT(ValidateWorkloadSource(Project({"main.py"}), 7).message(),
              HasSubstr("8 bytes, over the limit of 7"));
  v1::Workload many;
  for (size_t i = 0; i <= kMaxSourceFiles; ++i) {
    many.add_files()->set_path("f" + std::to_string(i));
  }
  EXPECT_THAT(ValidateWorkloadSource(many, 1 << 20).message(),
              HasSubstr("files, over the limit"));
  v1::Workload entry = Project({"main.py"});
  entry.set_entrypoint("../main.py");
  EXPECT_THAT(ValidateWorkloadSource(entry, 100).message(),
              HasSubstr("workload.entrypoint"));
}

TEST(ValidateDebianPackages, TakesDebianNamesOnly) {
  v1::Workload workload;
  for (const char* name : {"python3-numpy", "libstdc++-12-dev", "g++",
                           "librust-serde-json-dev", "0ad"}) {
    workload.add_packages(name);
  }
  EXPECT_TRUE(ValidateDebianPackages(workload.packages()).ok());
  for (const char* hostile : {"x; rm -rf /", "--option=APT::Get=1", "-x",
                              "Python3", "a", "a b", "$(id)", ""}) {
    v1::Workload bad;
    bad.add_packages(hostile);
    EXPECT_THAT(ValidateDebianPackages(bad.packages()).message(),
                HasSubstr("is not a Debian package name"))
        << hostile;
  }
}

TEST(ValidateDebianPackages, CapsTheCount) {
  v1::Workload workload;
  for (size_t i = 0; i <= kMaxPackages; ++i) {
    workload.add_packages("pkg" + std::to_string(i));
  }
  EXPECT_THAT(ValidateDebianPackages(workload.packages()).message(),
              HasSubstr("over the limit"));
}

TEST(CanonicalPackages, SortsAndDropsRepeats) {
  v1::Workload workload;
  for (const char* name : {"b", "a", "b"}) workload.add_packages(name);
  EXPECT_THAT(CanonicalPackages(workload.packages()),
              ::testing::ElementsAre("a", "b"));
}

}  // namespace
}  // namespace cloudlet
