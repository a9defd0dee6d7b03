// The artifact cache against real build scripts: hits, one build for
// concurrent askers (threads and processes), failures and cancellation that
// leave nothing behind.
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/no_vm_left.h"
#include "tests/vm/vm_test_env.h"
#include "vmm/artifacts/artifact_cache.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

int CountLines(const fs::path& file) {
  std::ifstream in(file);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

// Entries and temp dirs in a cache dir, other than the fixed subdirs.
std::vector<std::string> CacheEntries(const fs::path& cache_dir) {
  std::vector<std::string> entries;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(cache_dir, error)) {
    std::string name = entry.path().filename().string();
    if (name != "tmp" && name != "locks") entries.push_back(name);
  }
  for (const auto& entry : fs::directory_iterator(cache_dir / "tmp", error)) {
    entries.push_back("tmp/" + entry.path().filename().string());
  }
  return entries;
}

// A cheap "initramfs" build that counts its runs in `counter` and takes a
// second, so that two concurrent askers overlap.
std::string CountingScript(const fs::path& counter) {
  return absl::StrCat("echo build >> '", counter.string(),
                      "'\necho 'fake: packing'\nsleep 1\n"
                      "printf 'fake initramfs' > \"$3\"\n");
}

class ArtifactCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-cache-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    work_.emplace(*std::move(dir));
  }

  vmm::ArtifactCacheOptions FakeOptions(const TempDir& source) {
    vmm::ArtifactCacheOptions options;
    options.cache_dir = work_->path() / "cache";
    options.source_dir = source.path();
    options.init_binary = CLOUDLET_INIT_BINARY;
    options.agent_binary = CLOUDLET_AGENT_BINARY;
    return options;
  }

  std::optional<TempDir> work_;
};

TEST_F(ArtifactCacheTest, SecondRequestIsAHitThatCostsAFewStats) {
  auto cache = vmm::ArtifactCache::Open(RealCacheOptions());
  ASSERT_TRUE(cache.ok()) << cache.status();
  auto first = (*cache)->Ensure(v1::SHELL, nullptr, {});
  ASSERT_TRUE(first.ok()) << first.status();

  std::vector<v1::Progress> events;
  absl::Time start = absl::Now();
  auto second = (*cache)->Ensure(
      v1::SHELL, [&](const v1::Progress& p) { events.push_back(p); }, {});
  absl::Duration elapsed = absl::Now() - start;
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->kernel, first->kernel);
  EXPECT_EQ(second->initramfs, first->initramfs);
  EXPECT_EQ(second->image, first->image);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].artifact(), "kernel");
  EXPECT_EQ(events[1].artifact(), "initramfs");
  EXPECT_EQ(events[2].artifact(), "image/shell");
  for (const v1::Progress& event : events) {
    EXPECT_TRUE(event.cached()) << event.artifact();
    EXPECT_EQ(event.message(), "found in cache");
  }
  EXPECT_LT(elapsed, absl::Milliseconds(50));
}

TEST_F(ArtifactCacheTest, ListShowsWhatIsCachedWithItsKeyAndSize) {
  auto source = SourceDirWithInitramfsScript(
      "printf 'fake initramfs' > \"$3\"");
  ASSERT_TRUE(source.ok());
  auto cache = vmm::ArtifactCache::Open(FakeOptions(*source));
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_TRUE((*cache)->EnsureArtifact("initramfs", nullptr, {}).ok());
  std::vector<v1::ArtifactState> states = (*cache)->List();
  ASSERT_EQ(states.size(), 8u);
  EXPECT_EQ(states[1].name(), "initramfs");
  EXPECT_TRUE(states[1].cached());
  EXPECT_EQ(states[1].size_bytes(), 14u);
  EXPECT_EQ(states[1].key().size(), 64u);
  EXPECT_EQ(states[7].name(), "image/shell");
  EXPECT_FALSE(states[7].cached());
}

TEST_F(ArtifactCacheTest, ListCountsTheHitsBuildsAndFailuresOfThisInstance) {
  auto good = SourceDirWithInitramfsScript("printf 'fake initramfs' > \"$3\"");
  auto bad = SourceDirWithInitramfsScript("exit 3");
  ASSERT_TRUE(good.ok() && bad.ok());
  auto cache = vmm::ArtifactCache::Open(FakeOptions(*good));
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_TRUE((*cache)->EnsureArtifact("initramfs", nullptr, {}).ok());
  ASSERT_TRUE((*cache)->EnsureArtifact("initramfs", nullptr, {}).ok());
  std::vector<v1::ArtifactState> states = (*cache)->List();
  EXPECT_EQ(states[1].builds(), 1u);
  EXPECT_EQ(states[1].cache_hits(), 1u);
  EXPECT_EQ(states[1].build_failures(), 0u);
  EXPECT_EQ(states[0].builds() + states[0].cache_hits(), 0u);  // kernel

  auto failing = vmm::ArtifactCache::Open(FakeOptions(*bad));
  ASSERT_TRUE(failing.ok()) << failing.status();
  EXPECT_FALSE((*failing)->EnsureArtifact("initramfs", nullptr, {}).ok());
  states = (*failing)->List();
  EXPECT_EQ(states[1].build_failures(), 1u);
  EXPECT_EQ(states[1].builds(), 0u);
}

TEST_F(ArtifactCacheTest, AChangedInputGivesANewKey) {
  auto a = SourceDirWithInitramfsScript("exit 1");
  auto b = SourceDirWithInitramfsScript("exit 1");
  ASSERT_TRUE(a.ok() && b.ok());
  // b's /init binary differs by one byte.
  fs::path changed_init = work_->path() / "cloudlet-init";
  fs::copy_file(CLOUDLET_INIT_BINARY, changed_init);
  std::ofstream(changed_init, std::ios::app) << '\0';
  vmm::ArtifactCacheOptions options_b = FakeOptions(*b);
  options_b.init_binary = changed_init;
  auto cache_a = vmm::ArtifactCache::Open(FakeOptions(*a));
  auto cache_b = vmm::ArtifactCache::Open(options_b);
  ASSERT_TRUE(cache_a.ok() && cache_b.ok());
  std::vector<v1::ArtifactState> list_a = (*cache_a)->List();
  std::vector<v1::ArtifactState> list_b = (*cache_b)->List();
  EXPECT_EQ(list_a[0].key(), list_b[0].key());  // kernel: inputs unchanged
  EXPECT_NE(list_a[1].key(), list_b[1].key());  // initramfs: /init changed
}

TEST_F(ArtifactCacheTest, ConcurrentRequestsFromThreadsBuildOnce) {
  fs::path counter = work_->path() / "builds";
  auto source = SourceDirWithInitramfsScript(CountingScript(counter));
  ASSERT_TRUE(source.ok());
  vmm::ArtifactCacheOptions options = FakeOptions(*source);

  std::vector<absl::StatusOr<fs::path>> results(2, absl::UnknownError(""));
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      auto cache = vmm::ArtifactCache::Open(options);  // one each
      ASSERT_TRUE(cache.ok()) << cache.status();
      results[i] = (*cache)->EnsureArtifact("initramfs", nullptr, {});
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(*results[0], *results[1]);
  EXPECT_EQ(CountLines(counter), 1);
}

TEST_F(ArtifactCacheTest, ConcurrentRequestsFromProcessesBuildOnce) {
  fs::path counter = work_->path() / "builds";
  auto source = SourceDirWithInitramfsScript(CountingScript(counter));
  ASSERT_TRUE(source.ok());
  std::vector<ChildProcess> children;
  for (int i = 0; i < 2; ++i) {
    SpawnOptions spawn;
    spawn.argv = {CLOUDLET_VMM_BINARY, "artifacts", "build", "initramfs",
                  "--cache_dir=" + (work_->path() / "cache").string(),
                  "--source_dir=" + source->path().string(),
                  std::string("--init_binary=") + CLOUDLET_INIT_BINARY,
                  std::string("--agent_binary=") + CLOUDLET_AGENT_BINARY};
    spawn.stdout_mode = StdioMode::kNull;
    spawn.stderr_mode = StdioMode::kNull;
    auto child = ChildProcess::Spawn(spawn);
    ASSERT_TRUE(child.ok()) << child.status();
    children.push_back(*std::move(child));
  }
  for (ChildProcess& child : children) {
    auto status = child.WaitFor(absl::Seconds(60));
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(status->success()) << status->ToString();
  }
  EXPECT_EQ(CountLines(counter), 1);
  EXPECT_THAT(CacheEntries(work_->path() / "cache"),
              ::testing::ElementsAre(::testing::StartsWith("initramfs-")));
}

TEST_F(ArtifactCacheTest, AFailedBuildLeavesNoEntryAndReportsTheOutputTail) {
  auto source = SourceDirWithInitramfsScript(
      "echo 'packing things'\n"
      "echo 'fatal: the frobnicator is missing' >&2\nexit 3");
  ASSERT_TRUE(source.ok());
  auto cache = vmm::ArtifactCache::Open(FakeOptions(*source));
  ASSERT_TRUE(cache.ok()) << cache.status();

  auto result = (*cache)->EnsureArtifact("initramfs", nullptr, {});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(result.status().message(),
              HasSubstr("fatal: the frobnicator is missing"));
  EXPECT_THAT(result.status().message(), HasSubstr("exit code 3"));
  EXPECT_THAT(CacheEntries(work_->path() / "cache"), ::testing::IsEmpty());
  EXPECT_FALSE((*cache)->List()[1].cached());
}

TEST_F(ArtifactCacheTest, ABuildThatWritesNothingIsAFailure) {
  auto source = SourceDirWithInitramfsScript("echo 'all good, honest'");
  ASSERT_TRUE(source.ok());
  auto cache = vmm::ArtifactCache::Open(FakeOptions(*source));
  ASSERT_TRUE(cache.ok());
  auto result = (*cache)->EnsureArtifact("initramfs", nullptr, {});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(result.status().message(), HasSubstr("did not write"));
  EXPECT_THAT(CacheEntries(work_->path() / "cache"), ::testing::IsEmpty());
}

TEST_F(ArtifactCacheTest, ACancelledBuildStopsPromptlyAndLeavesNothing) {
  fs::path pid_file = work_->path() / "sleeper.pid";
  auto source = SourceDirWithInitramfsScript(absl::StrCat(
      "sleep 60 & echo $! > '", pid_file.string(),
      "'\necho 'fake: started'\nwait\nprintf x > \"$3\""));
  ASSERT_TRUE(source.ok());
  auto cache = vmm::ArtifactCache::Open(FakeOptions(*source));
  ASSERT_TRUE(cache.ok());

  bool started = false;
  absl::Time start = absl::Now();
  auto result = (*cache)->EnsureArtifact(
      "initramfs",
      [&](const v1::Progress& p) {
        started = started || p.message() == "fake: started";
      },
      CancelToken::FromProbe([&] { return started; }));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_THAT(CacheEntries(work_->path() / "cache"), ::testing::IsEmpty());
  std::ifstream pid_in(pid_file);
  pid_t sleeper = 0;
  ASSERT_TRUE(pid_in >> sleeper);
  EXPECT_TRUE(WaitUntilProcessGone(sleeper, absl::Seconds(2)))
      << "the build's child is still alive";
}

TEST_F(ArtifactCacheTest, UnknownArtifactIsInvalidArgument) {
  auto cache = vmm::ArtifactCache::Open(RealCacheOptions());
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ((*cache)->EnsureArtifact("image/cobol", nullptr, {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ArtifactCacheTest, OpenRejectsAMissingAgentBinary) {
  vmm::ArtifactCacheOptions options = RealCacheOptions();
  options.agent_binary = "/nonexistent/cloudlet-agent";
  auto cache = vmm::ArtifactCache::Open(options);
  EXPECT_EQ(cache.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cache.status().message(), HasSubstr("agent binary"));
}

TEST_F(ArtifactCacheTest, OpenRejectsAMissingInitBinary) {
  vmm::ArtifactCacheOptions options = RealCacheOptions();
  options.init_binary = "/nonexistent/cloudlet-init";
  auto cache = vmm::ArtifactCache::Open(options);
  EXPECT_EQ(cache.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cache.status().message(),
              HasSubstr("init binary not found: /nonexistent/cloudlet-init"));
}

}  // namespace
}  // namespace cloudlet::testing
