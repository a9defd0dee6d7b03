// Projects and packages through the real CLI, API and VMM on the host-agent
// seam (tests/cli/cli_chain_test.h): a folder runs by its language's
// convention and its second run is cached; every bad folder or package is a
// clear error with exit 2 and no VM; a reference Cloudlet config runs as
// written. The examples with Debian packages run in microVMs in
// tests/e2e/examples_test.cc.
#include <sys/stat.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_chain_test.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class CliProjectTest : public CliRunTest {
 protected:
  void WriteFile(const std::string& path, const std::string& content) {
    fs::path full = dir_->path() / path;
    fs::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << content;
  }
  // A config at the temp dir's root for the project folder `folder`.
  std::string ProjectConfig(const std::string& language,
                            const std::string& folder,
                            const std::string& extra_build_toml = "") {
    fs::path config = dir_->path() / "project.toml";
    std::ofstream(config) << "workload-name = \"project\"\nlanguage = \""
                          << language << "\"\n[build]\nsource-code-path = \""
                          << folder << "\"\n"
                          << extra_build_toml;
    return config.string();
  }
  void ExpectRefusedWithNoVm(const CliOutcome& run,
                             const std::string& message) {
    EXPECT_EQ(run.exit.code, 2) << run.err;
    EXPECT_THAT(run.err, HasSubstr(message));
    EXPECT_TRUE(run.out.empty()) << run.out;
    if (chain_ != nullptr) {
      EXPECT_TRUE(VmProcessesOf(chain_->vmm_pid()).empty());
    }
  }
};

TEST_F(CliProjectTest, ACProjectBuildsWithItsMakefileAndItsSecondRunIsCached) {
  Start();
  WriteFile("app/Makefile", "app: main.o add.o\n\t$(CC) -o $@ $^\n");
  WriteFile("app/add.h", "int add(int a, int b);\n");
  WriteFile("app/add.c", "#include \"add.h\"\nint add(int a, int b) { return a + b; }\n");
  WriteFile("app/main.c",
            "#include <stdio.h>\n#include \"add.h\"\n"
            "int main(void) { printf(\"%d\\n\", add(2, 3)); return 0; }\n");
  WriteFile("app/data.txt", "read at run time\n");
  // A built object checked in by mistake is left out by .cloudletignore.
  WriteFile("app/.cloudletignore", "*.o\n");
  WriteFile("app/main.o", "not an object");
  const std::string config = ProjectConfig("c", "app");
  CliOutcome first = Cloudlet({"run", "--no-start", "-c", config});
  EXPECT_EQ(first.exit.code, 0) << first.err;
  EXPECT_EQ(first.out, "5\n");
  CliOutcome second = Cloudlet({"run", "--no-start", "-c", config});
  EXPECT_EQ(second.exit.code, 0) << second.err;
  EXPECT_EQ(second.out, "5\n");
  EXPECT_THAT(second.err, HasSubstr("build: cached"));
}

TEST_F(CliProjectTest, PythonAndNodeProjectsRunTheirEntryPointsWithTheirModules) {
  Start();
  WriteFile("py/main.py", "import helper\nhelper.hello()\n");
  WriteFile("py/helper.py", "def hello():\n    print('hello from helper')\n");
  WriteFile("py/tools/other.py", "print('other entry')\n");
  CliOutcome python =
      Cloudlet({"run", "--no-start", "-c", ProjectConfig("python", "py")});
  EXPECT_EQ(python.exit.code, 0) << python.err;
  EXPECT_EQ(python.out, "hello from helper\n");
  CliOutcome entry = Cloudlet(
      {"run", "--no-start", "-c",
       ProjectConfig("python", "py", "entrypoint = \"tools/other.py\"\n")});
  EXPECT_EQ(entry.exit.code, 0) << entry.err;
  EXPECT_EQ(entry.out, "other entry\n");

  WriteFile("js/package.json", R"({"main": "src/app.js"})");
  WriteFile("js/src/app.js", "console.log(require('./greet')('node'));\n");
  WriteFile("js/src/greet.js", "module.exports = (n) => `hi ${n}`;\n");
  CliOutcome node =
      Cloudlet({"run", "--no-start", "-c", ProjectConfig("node", "js")});
  EXPECT_EQ(node.exit.code, 0) << node.err;
  EXPECT_EQ(node.out, "hi node\n");
}

TEST_F(CliProjectTest, AProjectLackingItsEntryPointIsRefusedBeforeAnyVm) {
  Start();
  WriteFile("py/app.py", "print(1)\n");
  CliOutcome run =
      Cloudlet({"run", "--no-start", "-c", ProjectConfig("python", "py")});
  ExpectRefusedWithNoVm(run, "python project has no main.py; add one or set "
                             "[build] entrypoint");
}

TEST_F(CliProjectTest, AFolderOverTheCapIsRefusedBeforeAnythingIsSent) {
  Start();
  WriteFile("big/main.sh", "echo never\n");
  fs::path blob = dir_->path() / "big/blob.bin";
  std::ofstream(blob).close();
  fs::resize_file(blob, (8 << 20) + 1);
  ExpectRefusedWithNoVm(
      Cloudlet({"run", "--no-start", "-c", ProjectConfig("shell", "big")}),
      "blob.bin: the folder's files pass the limit of 8388608 bytes");
}

TEST_F(CliProjectTest, ASymlinkLeavingTheFolderIsRefused) {
  Start();
  WriteFile("app/main.sh", "cat secret\n");
  WriteFile("outside.txt", "secret");
  fs::create_symlink("../outside.txt", dir_->path() / "app/secret");
  ExpectRefusedWithNoVm(
      Cloudlet({"run", "--no-start", "-c", ProjectConfig("shell", "app")}),
      "secret: is a symlink to");
}

TEST_F(CliProjectTest, AnUnknownPackageIsRefusedByTheVmmNamingIt) {
  Start();
  ExpectRefusedWithNoVm(
      Cloudlet({"run", "--no-start", "-c",
                ShellConfig("echo never\n",
                            "packages = [\"jq\", \"python3-nonexistent-pkg\"]\n")}),
      "\"python3-nonexistent-pkg\" is not in the Debian archive");
}

TEST_F(CliProjectTest, HostilePackageNamesNeverLeaveTheCli) {
  Start();
  for (const char* hostile : {"x; rm -rf /", "--option=Dir::Etc=/tmp", "$(id)"}) {
    CliOutcome run = Cloudlet(
        {"run", "--no-start", "-c",
         ShellConfig("echo never\n",
                     absl::StrCat("packages = [\"", hostile, "\"]\n"))});
    ExpectRefusedWithNoVm(run, "is not a Debian package name");
  }
}

TEST_F(CliProjectTest, AReferenceConfigRunsAsWrittenWithAWarning) {
  Start();
  // The reference resolves source-code-path from the current directory, and
  // ignores keys it does not know.
  WriteFile("src/hello.sh", "echo hello from the reference\n");
  WriteFile("configs/hello.toml",
            "workload-name = \"hello\"\nlanguage = \"shell\"\n"
            "action = \"prepare-and-run\"\nlog-level = \"debug\"\n"
            "[server]\naddress = \"localhost\"\nport = 50051\n"
            "[build]\nsource-code-path = \"src/hello.sh\"\nrelease = true\n");
  CliOutcome run =
      Cloudlet({"run", "--no-start", "--config-path", "configs/hello.toml"},
               absl::Seconds(60), dir_->path());
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "hello from the reference\n");
  EXPECT_THAT(run.err,
              HasSubstr("configs/hello.toml:4: log-level: unknown key, ignored"));
}

}  // namespace
}  // namespace cloudlet::testing
