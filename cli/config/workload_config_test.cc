#include "cli/config/workload_config.h"

#include <fstream>

#include "cli/config/source_text.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class WorkloadConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-config-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(*std::move(dir));
  }
  fs::path Write(const std::string& name, const std::string& content) {
    fs::path path = dir_->path() / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  absl::Status LoadError(const std::string& toml) {
    return LoadWorkloadConfig(Write("hello.toml", toml)).status();
  }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(WorkloadConfigTest, ReadsCloudletsExampleUnchanged) {
  Write("fibonacci.rs", "fn main() {}\n");
  absl::StatusOr<WorkloadConfig> config = LoadWorkloadConfig(Write(
      "fibonacci.toml",
      "workload-name = \"fibonacci\"\nlanguage = \"rust\"\n"
      "action = \"prepare-and-run\"\n\n[server]\naddress = \"localhost\"\n"
      "port = 50051\n\n[build]\nsource-code-path = \"fibonacci.rs\"\n"
      "release = true\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::Workload& workload = config->request.workload();
  EXPECT_EQ(workload.name(), "fibonacci");
  EXPECT_EQ(workload.language(), v1::RUST);
  EXPECT_EQ(workload.action(), v1::PREPARE_AND_RUN);
  EXPECT_EQ(workload.code(), "fn main() {}\n");
  EXPECT_TRUE(workload.release());
  EXPECT_EQ(config->request.vm().agent_port(), 50051u);
  EXPECT_EQ(config->source_path, dir_->path() / "fibonacci.rs");
}

TEST_F(WorkloadConfigTest, ReadsRunAndVmTables) {
  Write("src/main.py", "print(input())\n");
  Write("data/in.txt", "42\n");
  absl::StatusOr<WorkloadConfig> config = LoadWorkloadConfig(Write(
      "sub/app.toml",
      "language = \"python\"\n[build]\nsource-code-path = \"../src/main.py\"\n"
      "[run]\nargs = [\"-v\", \"x y\"]\nenv = { GREETING = \"hi\" }\n"
      "stdin-path = \"../data/in.txt\"\ntimeout = \"1m30s\"\n"
      "[vm]\nmemory-mib = 512\nvcpus = 2\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::Workload& workload = config->request.workload();
  EXPECT_EQ(workload.name(), "app");  // defaults to the file's stem
  EXPECT_EQ(workload.code(), "print(input())\n");
  EXPECT_THAT(workload.args(), ::testing::ElementsAre("-v", "x y"));
  EXPECT_EQ(workload.env().at("GREETING"), "hi");
  EXPECT_EQ(workload.stdin(), "42\n");
  EXPECT_EQ(workload.timeout().seconds(), 90);
  EXPECT_EQ(config->request.vm().memory_mib(), 512u);
  EXPECT_EQ(config->request.vm().vcpus(), 2u);
  EXPECT_FALSE(config->request.vm().agent_port());
}

TEST_F(WorkloadConfigTest, TimeoutInSecondsAsAnInteger) {
  Write("a.sh", "echo\n");
  absl::StatusOr<WorkloadConfig> config = LoadWorkloadConfig(
      Write("t.toml",
            "language = \"shell\"\n[build]\nsource-code-path = \"a.sh\"\n"
            "[run]\ntimeout = 2\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->request.workload().timeout().seconds(), 2);
}

TEST_F(WorkloadConfigTest, UnknownLanguageNamesFileLineAndChoices) {
  Write("main.go", "package main\n");
  EXPECT_EQ(LoadError("workload-name = \"x\"\n\n\nlanguage = \"go\"\n"
                      "[build]\nsource-code-path = \"main.go\"\n")
                .message(),
            (dir_->path() / "hello.toml").string() +
                ":4: language: unknown value \"go\"; expected one of rust, "
                "python, node, c, cpp, shell");
}

TEST_F(WorkloadConfigTest, ErrorsNameFileLineAndKey) {
  Write("main.sh", "echo hi\n");
  const std::string ok_build = "[build]\nsource-code-path = \"main.sh\"\n";
  struct Case {
    std::string toml;
    std::string expected;
  } cases[] = {
      {"language = \"shell\"\nlanguage = \"c\"\n", ":2:"},  // bad TOML
      {"language = \"shell\"\n[build\n", ":2: invalid TOML"},
      {"language = 3\n" + ok_build, ":1: language: must be a string"},
      {"language = \"shell\"\naction = \"fly\"\n" + ok_build,
       ":2: action: unknown value \"fly\""},
      {"language = \"shell\"\n[build]\nsource-code-path = \"nope.sh\"\n",
       ":3: build.source-code-path: no such file: "},
      {"language = \"shell\"\n[build]\nrelease = true\n",
       ":2: build.source-code-path: required key is missing"},
      {"language = \"shell\"\n", "build.source-code-path: required key"},
      {ok_build, "language: required key is missing"},
      {"language = \"shell\"\n" + ok_build + "release = \"yes\"\n",
       ":4: build.release: must be true or false"},
      {"language = \"shell\"\n" + ok_build + "[server]\nport = 70000\n",
       ":5: server.port: must be an integer from 1 to 65535"},
      {"language = \"shell\"\n" + ok_build + "[run]\nargs = [1]\n",
       ":5: run.args: must be a string"},
      {"language = \"shell\"\n" + ok_build + "[run]\ntimeout = \"soon\"\n",
       ":5: run.timeout: not a duration: \"soon\""},
      {"language = \"shell\"\n" + ok_build + "[run]\ntimeout = -1\n",
       ":5: run.timeout: must be positive"},
      {"language = \"shell\"\n" + ok_build + "[run]\ntimeout = 9999999999\n",
       ":5: run.timeout: must be at most 24h"},
      {"language = \"shell\"\n" + ok_build + "[run]\nstdin-path = \"in\"\n",
       ":5: run.stdin-path: no such file: "},
      {"language = \"shell\"\n" + ok_build + "[run]\nenv = { A = 1 }\n",
       ":5: run.env.A: must be a string"},
      {"language = \"shell\"\n" + ok_build + "[vm]\nvcpus = 0\n",
       ":5: vm.vcpus: must be an integer from 1 to 256"},
      {"language = \"shell\"\n" + ok_build + "entrypoint = \"x.sh\"\n",
       ":4: build.entrypoint: applies to a project folder"},
      {"language = \"shell\"\n" + ok_build + "packages = \"jq\"\n",
       ":4: build.packages: must be an array"},
      {"language = \"shell\"\n" + ok_build + "packages = [\"x; rm -rf /\"]\n",
       ":4: build.packages: \"x; rm -rf /\" is not a Debian package name"},
      {"language = \"shell\"\n" + ok_build +
           "packages = [\"--option=Dir::Etc=/tmp\"]\n",
       "is not a Debian package name"},
      {"language = \"shell\"\nvm = 3\n" + ok_build, ":2: vm: must be a table"},
  };
  for (const Case& c : cases) {
    absl::Status status = LoadError(c.toml);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.toml;
    EXPECT_THAT(std::string(status.message()), HasSubstr("hello.toml"))
        << c.toml;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.expected))
        << c.toml;
  }
}

TEST_F(WorkloadConfigTest, MissingConfigFileIsAnError) {
  absl::Status status =
      LoadWorkloadConfig(dir_->path() / "absent.toml").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("absent.toml: no such file"));
}

TEST_F(WorkloadConfigTest, SourcePathIsRelativeToTheConfigNotTheCwd) {
  Write("proj/code.c", "int main(){}\n");
  fs::path config = Write(
      "proj/c.toml", "language = \"c\"\n[build]\nsource-code-path = \"code.c\"\n");
  fs::path saved = fs::current_path();
  fs::current_path("/");
  absl::StatusOr<WorkloadConfig> loaded = LoadWorkloadConfig(config);
  fs::current_path(saved);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->request.workload().code(), "int main(){}\n");
}

TEST_F(WorkloadConfigTest, RefusesEmptyBinaryAndOversizedSourcesNamingThem) {
  const std::string config =
      "language = \"shell\"\n[build]\nsource-code-path = \"main.sh\"\n";
  Write("main.sh", "");
  EXPECT_THAT(LoadError(config).message(),
              HasSubstr("hello.toml:3: build.source-code-path: main.sh is "
                        "empty"));
  Write("main.sh", std::string("\x7f" "ELF\x02\x01\x01\0\xff", 9));
  EXPECT_THAT(LoadError(config).message(),
              HasSubstr("hello.toml:3: build.source-code-path: main.sh is not "
                        "UTF-8 text"));
  // Refused by its size, before it is read.
  Write("main.sh", "");
  fs::resize_file(dir_->path() / "main.sh", kMaxSourceBytes + 1);
  absl::Status big = LoadError(config);
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.message(),
              HasSubstr("hello.toml:3: build.source-code-path: main.sh is "
                        "8388609 bytes, over the limit of 8388608 bytes"));
}

TEST_F(WorkloadConfigTest, UnknownKeysAreWarningsNamingThem) {
  Write("main.sh", "echo hi\n");
  absl::StatusOr<WorkloadConfig> config = LoadWorkloadConfig(
      Write("hello.toml",
            "language = \"shell\"\ncolour = \"red\"\n[build]\n"
            "source-code-path = \"main.sh\"\nopt = 1\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->warnings.size(), 2u);
  EXPECT_THAT(config->warnings[0], HasSubstr("hello.toml:2: colour: unknown "
                                             "key, ignored"));
  EXPECT_THAT(config->warnings[1], HasSubstr(":5: build.opt: unknown key"));
}

TEST_F(WorkloadConfigTest, SourcePathFallsBackToTheCurrentDirectory) {
  // The reference's rule: a path not found beside the config is taken from
  // the current directory.
  Write("cwd/app/main.sh", "echo from cwd\n");
  fs::path config = Write(
      "configs/app.toml",
      "language = \"shell\"\n[build]\nsource-code-path = \"app/main.sh\"\n");
  fs::path saved = fs::current_path();
  fs::current_path(dir_->path() / "cwd");
  absl::StatusOr<WorkloadConfig> loaded = LoadWorkloadConfig(config);
  fs::current_path(saved);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->request.workload().code(), "echo from cwd\n");
}

TEST_F(WorkloadConfigTest, AFolderIsAProjectWithEntrypointAndPackages) {
  Write("proj/main.py", "import util\n");
  Write("proj/util.py", "X = 1\n");
  absl::StatusOr<WorkloadConfig> config = LoadWorkloadConfig(Write(
      "p.toml",
      "language = \"python\"\n[build]\nsource-code-path = \"proj\"\n"
      "entrypoint = \"main.py\"\npackages = [\"python3-numpy\", \"jq\"]\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::Workload& workload = config->request.workload();
  EXPECT_TRUE(workload.code().empty());
  ASSERT_EQ(workload.files_size(), 2);
  EXPECT_EQ(workload.files(0).path(), "main.py");
  EXPECT_EQ(workload.files(1).content(), "X = 1\n");
  EXPECT_EQ(workload.entrypoint(), "main.py");
  EXPECT_THAT(workload.packages(),
              ::testing::ElementsAre("python3-numpy", "jq"));
}

}  // namespace
}  // namespace cloudlet::cli
