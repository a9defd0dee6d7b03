// Pruning the artifact cache: what old inputs built goes, what the current
// inputs hash to and what a VM uses stays, and a running build is left
// alone. All artifacts here are fakes built by stand-in scripts.
#include "vmm/service/cache_prune.h"

#include <fstream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/vm/vm_test_env.h"
#include "vmm/artifacts/artifact_cache.h"
#include "vmm/cache/file_lock.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::trunc) << text;
}

std::set<std::string> DirNames(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

class ArtifactPruneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> work = TempDir::Create("cloudlet-prune-test-");
    ASSERT_TRUE(work.ok()) << work.status();
    work_.emplace(*std::move(work));
    // Every artifact is a few bytes written by a stand-in build script.
    absl::StatusOr<TempDir> source =
        SourceDirWithInitramfsScript("printf 'fake initramfs' > \"$3\"");
    ASSERT_TRUE(source.ok()) << source.status();
    source_.emplace(*std::move(source));
    WriteFile(source_->path() / "kernel/build-kernel.sh",
              "printf 'fake kernel' > \"$1/bzImage\"\n");
    WriteFile(source_->path() / "initramfs/build-image.sh",
              "printf 'fake image' > \"$2\"\n");
    agent_ = work_->path() / "cloudlet-agent";
    fs::copy_file(CLOUDLET_AGENT_BINARY, agent_);
  }

  // A cache over the shared cache dir, with the agent as it is now.
  std::unique_ptr<vmm::ArtifactCache> OpenCache() {
    vmm::ArtifactCacheOptions options;
    options.cache_dir = cache_dir();
    options.source_dir = source_->path();
    options.init_binary = CLOUDLET_INIT_BINARY;
    options.agent_binary = agent_;
    absl::StatusOr<std::unique_ptr<vmm::ArtifactCache>> cache =
        vmm::ArtifactCache::Open(options);
    EXPECT_TRUE(cache.ok()) << cache.status();
    return cache.ok() ? *std::move(cache) : nullptr;
  }

  // A new agent build: the initramfs key changes, the others do not.
  void ChangeTheAgent() { std::ofstream(agent_, std::ios::app) << '\0'; }

  fs::path cache_dir() const { return work_->path() / "cache"; }
  // <cache>/locks/<entry><extension>: ".lock" (building), ".use" (leases).
  fs::path LockFile(const std::string& entry, const std::string& extension) {
    return cache_dir() / "locks" / (entry + extension);
  }

  std::optional<TempDir> work_;
  std::optional<TempDir> source_;
  fs::path agent_;
};

TEST_F(ArtifactPruneTest, RemovesWhatOldInputsBuiltAndKeepsTheCurrentEntries) {
  auto old_cache = OpenCache();
  auto old_artifacts = old_cache->Ensure(v1::SHELL, nullptr, {});
  ASSERT_TRUE(old_artifacts.ok()) << old_artifacts.status();
  const std::string old_initramfs =
      old_artifacts->initramfs.parent_path().filename().string();
  old_artifacts = absl::UnknownError("dropped, with its lease");

  ChangeTheAgent();
  auto cache = OpenCache();
  auto artifacts = cache->Ensure(v1::SHELL, nullptr, {});
  ASSERT_TRUE(artifacts.ok()) << artifacts.status();
  const std::string current_initramfs =
      artifacts->initramfs.parent_path().filename().string();
  artifacts = absl::UnknownError("dropped, with its lease");
  // Not entries of the cache: never touched.
  WriteFile(cache_dir() / "notes.txt", "mine\n");
  WriteFile(cache_dir() / "image-shell-NOT-A-KEY/keep", "mine\n");
  const std::set<std::string> before = DirNames(cache_dir());

  auto dry = vmm::PruneCache(*cache, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  ASSERT_EQ(dry->removed.size(), 1u);
  EXPECT_EQ(dry->removed[0].name, old_initramfs);
  EXPECT_EQ(dry->removed[0].bytes, 14u);  // "fake initramfs"
  EXPECT_EQ(DirNames(cache_dir()), before);

  auto pruned = vmm::PruneCache(*cache, /*dry_run=*/false);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  ASSERT_EQ(pruned->removed.size(), 1u);
  EXPECT_EQ(pruned->removed[0].name, old_initramfs);
  EXPECT_EQ(pruned->removed_bytes, 14u);
  EXPECT_THAT(pruned->in_use, IsEmpty());
  std::set<std::string> expected = before;
  expected.erase(old_initramfs);
  EXPECT_EQ(DirNames(cache_dir()), expected);
  EXPECT_THAT(DirNames(cache_dir() / "tmp"), IsEmpty());
  // The old entry's lock files went with it; the current ones stay.
  EXPECT_EQ(pruned->lock_files_removed, 2u);
  EXPECT_FALSE(fs::exists(LockFile(old_initramfs, ".lock")));
  EXPECT_FALSE(fs::exists(LockFile(old_initramfs, ".use")));
  EXPECT_TRUE(
      fs::exists(LockFile(current_initramfs, ".use")));

  // The current entries are still hits.
  for (const v1::ArtifactState& state : cache->List()) {
    if (state.name() == "kernel" || state.name() == "initramfs" ||
        state.name() == "image/shell") {
      EXPECT_TRUE(state.cached()) << state.name();
    }
  }
  auto again = vmm::PruneCache(*cache, /*dry_run=*/false);
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(again->removed, IsEmpty());
}

TEST_F(ArtifactPruneTest, RemovesSnapshotsMadeFromEntriesThatAreNotCurrent) {
  auto cache = OpenCache();
  auto artifacts = cache->Ensure(v1::SHELL, nullptr, {});
  ASSERT_TRUE(artifacts.ok()) << artifacts.status();
  auto entry_of = [](const fs::path& file) {
    return file.parent_path().filename().string();
  };
  const std::string current =
      absl::StrCat(entry_of(artifacts->kernel), "\n",
                   entry_of(artifacts->initramfs), "\n",
                   entry_of(artifacts->image), "\n");
  artifacts = absl::UnknownError("dropped, with its lease");
  // Fakes: prune judges a snapshot by its inputs file only.
  const std::string kept = "snapshot-00000000000000aa";
  const std::string old_agent = "snapshot-00000000000000bb";
  const std::string no_inputs = "snapshot-00000000000000cc";
  WriteFile(cache_dir() / kept / "inputs", current);
  WriteFile(cache_dir() / old_agent / "inputs",
            "kernel-0123456789abcdef\ninitramfs-0123456789abcdef\n");
  WriteFile(cache_dir() / no_inputs / "state", "half made\n");

  auto pruned = vmm::PruneCache(*cache, /*dry_run=*/false);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  std::set<std::string> removed;
  for (const auto& entry : pruned->removed) removed.insert(entry.name);
  EXPECT_EQ(removed, (std::set<std::string>{old_agent, no_inputs}));
  EXPECT_TRUE(fs::exists(cache_dir() / kept));
  EXPECT_FALSE(fs::exists(cache_dir() / old_agent));
}

TEST_F(ArtifactPruneTest, KeepsAnEntryAVmIsUsingUntilItsLeaseIsDropped) {
  auto old_cache = OpenCache();
  auto in_use = old_cache->Ensure(v1::SHELL, nullptr, {});
  ASSERT_TRUE(in_use.ok()) << in_use.status();
  const fs::path old_initramfs = in_use->initramfs;

  ChangeTheAgent();
  auto cache = OpenCache();
  auto kept = vmm::PruneCache(*cache, /*dry_run=*/false);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_THAT(kept->removed, IsEmpty());
  EXPECT_THAT(kept->in_use,
              ElementsAre(old_initramfs.parent_path().filename().string()));
  EXPECT_TRUE(fs::exists(old_initramfs));

  in_use->lease.reset();  // the VM is gone
  auto pruned = vmm::PruneCache(*cache, /*dry_run=*/false);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->removed.size(), 1u);
  EXPECT_FALSE(fs::exists(old_initramfs));
}

TEST_F(ArtifactPruneTest, RemovesAbandonedBuildDirsButNotOneBeingBuiltIn) {
  auto cache = OpenCache();
  const std::string abandoned = "initramfs-0123456789abcdef.Ab12Cd";
  const std::string building = "kernel-fedcba9876543210.Ef34Gh";
  WriteFile(cache_dir() / "tmp" / abandoned / "out/initrd.cpio", "half");
  WriteFile(cache_dir() / "tmp" / building / "out/bzImage", "half");
  auto builder = vmm::FileLock::TryAcquire(
      LockFile("kernel-fedcba9876543210", ".lock"));
  ASSERT_TRUE(builder.ok()) << builder.status();

  auto pruned = vmm::PruneCache(*cache, /*dry_run=*/false);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  ASSERT_EQ(pruned->removed.size(), 1u);
  EXPECT_EQ(pruned->removed[0].name, "tmp/" + abandoned);
  EXPECT_EQ(pruned->removed[0].bytes, 4u);
  EXPECT_EQ(DirNames(cache_dir() / "tmp"), std::set<std::string>{building});
  // The abandoned build's lock file went too; the running build's stays.
  EXPECT_EQ(DirNames(cache_dir() / "locks"),
            std::set<std::string>{"kernel-fedcba9876543210.lock"});
}

TEST_F(ArtifactPruneTest, TheCommandPrintsWhatWentAndRejectsExtraWords) {
  auto old_cache = OpenCache();
  ASSERT_TRUE(old_cache->EnsureArtifact("initramfs", nullptr, {}).ok());
  ChangeTheAgent();
  auto run = [&](std::vector<std::string> words) {
    SpawnOptions spawn;
    spawn.argv = {CLOUDLET_VMM_BINARY, "artifacts"};
    spawn.argv.insert(spawn.argv.end(), words.begin(), words.end());
    for (std::string flag :
         {"--cache_dir=" + cache_dir().string(),
          "--source_dir=" + source_->path().string(),
          std::string("--init_binary=") + CLOUDLET_INIT_BINARY,
          "--agent_binary=" + agent_.string()}) {
      spawn.argv.push_back(flag);
    }
    auto result = RunCommand(spawn, absl::Seconds(30));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  };

  CommandResult dry = run({"prune", "--dry-run"});
  EXPECT_EQ(dry.status.code, 0) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr("would remove initramfs-"));
  EXPECT_THAT(dry.output, HasSubstr("would free 0.0 kB (1 entry)"));
  CommandResult pruned = run({"prune"});
  EXPECT_EQ(pruned.status.code, 0) << pruned.output;
  EXPECT_THAT(pruned.output, HasSubstr("removed initramfs-"));
  EXPECT_THAT(run({"prune"}).output, HasSubstr("freed 0.0 kB (0 entries)"));

  CommandResult extra = run({"prune", "everything"});
  EXPECT_EQ(extra.status.code, 2);
  EXPECT_THAT(extra.output, HasSubstr("usage: cloudlet-vmm artifacts"));
  CommandResult misplaced = run({"list", "--dry-run"});
  EXPECT_EQ(misplaced.status.code, 2);
  EXPECT_THAT(misplaced.output, HasSubstr("--dry-run goes with"));
}

}  // namespace
}  // namespace cloudlet::testing
