#include "vmm/cache/cache_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

EntryKey Key(const std::string& kind, char digit) {
  return EntryKey{kind, std::string(64, digit), "data"};
}

// A builder that writes `content` into the entry's `data` file.
CacheStore::Builder Writes(std::string content, std::atomic<int>* calls) {
  return [content, calls](const fs::path& out) {
    if (calls != nullptr) ++*calls;
    WriteFile(out / "data", content);
    return absl::OkStatus();
  };
}

class CacheStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("cache-store-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(*std::move(dir));
    absl::StatusOr<std::unique_ptr<CacheStore>> store =
        CacheStore::Open(dir_->path() / "cache");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    // Give back what a test took away, so that TempDir can remove it.
    std::error_code error;
    for (const auto& entry :
         fs::recursive_directory_iterator(dir_->path(), error)) {
      ::chmod(entry.path().c_str(), 0755);
    }
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<CacheStore> store_;
};

TEST_F(CacheStoreTest, BuildsAnEntryOnceAndFindsItAfterwards) {
  std::atomic<int> calls{0};
  bool built = false;
  auto first = store_->FindOrBuild(Key("kernel", 'a'), Writes("v1", &calls),
                                   {}, &built);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(built);
  EXPECT_EQ(first->name, "kernel-aaaaaaaaaaaaaaaa");
  EXPECT_EQ(first->dir, store_->dir() / first->name);

  auto again = store_->FindOrBuild(Key("kernel", 'a'), Writes("v2", &calls),
                                   {}, &built);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(built);
  EXPECT_EQ(calls.load(), 1);
  std::ifstream in(again->dir / "data");
  std::string content;
  in >> content;
  EXPECT_EQ(content, "v1");
  CacheCounts counts = store_->counts("kernel");
  EXPECT_EQ(counts.builds, 1u);
  EXPECT_EQ(counts.hits, 1u);
  EXPECT_THAT(Names(store_->dir() / "tmp"), IsEmpty());
}

TEST_F(CacheStoreTest, ConcurrentBuildersOfOneEntryBuildItOnce) {
  std::atomic<int> calls{0};
  auto slow = [&](const fs::path& out) {
    ++calls;
    absl::SleepFor(absl::Milliseconds(200));  // others arrive meanwhile
    WriteFile(out / "data", "x");
    return absl::OkStatus();
  };
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (store_->FindOrBuild(Key("image-c", 'b'), slow, {}).ok()) ++ok;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(CacheStoreTest, AFailedOrCancelledBuildLeavesNothingAndIsNotFound) {
  auto failed = store_->FindOrBuild(
      Key("initramfs", 'c'),
      [](const fs::path& out) {
        WriteFile(out / "data", "half");
        return absl::InternalError("make: *** Error 2");
      },
      {});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store_->counts("initramfs").build_failures, 1u);

  CacheStore::BuildOptions options;
  options.cancel = CancelToken::FromProbe([] { return true; });
  auto cancelled = store_->FindOrBuild(
      Key("initramfs", 'c'),
      [&](const fs::path& out) {
        WriteFile(out / "data", "half");
        return absl::CancelledError("stopped");
      },
      options);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(store_->counts("initramfs").build_failures, 1u);

  auto without_marker = store_->FindOrBuild(
      Key("initramfs", 'c'), [](const fs::path&) { return absl::OkStatus(); },
      {});
  EXPECT_EQ(without_marker.status().code(), absl::StatusCode::kInternal);

  auto found = store_->Find(Key("initramfs", 'c'));
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_THAT(Names(store_->dir()), (std::set<std::string>{"locks", "tmp"}));
  EXPECT_THAT(Names(store_->dir() / "tmp"), IsEmpty());
}

TEST_F(CacheStoreTest, ABuildLeftByADeadBuilderIsClearedByTheNextOne) {
  const std::string entry = CacheStore::EntryName(Key("kernel", 'd'));
  WriteFile(store_->dir() / "tmp" / absl::StrCat(entry, ".Ab12Cd/out/data"),
            "half");
  auto built = store_->FindOrBuild(Key("kernel", 'd'), Writes("x", nullptr),
                                   {});
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(Names(store_->dir() / "tmp"), IsEmpty());
}

TEST_F(CacheStoreTest, PruneRemovesStaleEntriesButNotLeasedOnes) {
  auto leased = store_->FindOrBuild(Key("kernel", '1'), Writes("a", nullptr),
                                    {});
  ASSERT_TRUE(leased.ok());
  {
    auto unleased = store_->FindOrBuild(Key("kernel", '2'),
                                        Writes("b", nullptr), {});
    ASSERT_TRUE(unleased.ok());
  }
  auto current = store_->FindOrBuild(Key("kernel", '3'), Writes("c", nullptr),
                                     {});
  ASSERT_TRUE(current.ok());
  WriteFile(store_->dir() / "notes.txt", "mine");

  PrunePolicy policy;
  policy.stale = [&](const EntryInfo& entry) {
    return entry.name != current->name;
  };
  auto report = store_->Prune(policy, /*dry_run=*/false);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->removed.size(), 1u);
  EXPECT_EQ(report->removed[0].name, "kernel-2222222222222222");
  EXPECT_EQ(report->removed[0].bytes, 1u);
  EXPECT_THAT(report->in_use, ElementsAre(leased->name));
  EXPECT_TRUE(fs::exists(leased->dir));
  EXPECT_TRUE(fs::exists(current->dir));
  EXPECT_TRUE(fs::exists(store_->dir() / "notes.txt"));
  EXPECT_EQ(report->lock_files_removed, 2u);  // kernel-2's .lock and .use
}

TEST_F(CacheStoreTest, TheSizeCapRemovesTheLeastRecentlyUsedEntriesFirst) {
  for (char digit : {'1', '2', '3'}) {
    auto entry = store_->FindOrBuild(Key("image-c", digit),
                                     Writes(std::string(1000, 'x'), nullptr),
                                     {});
    ASSERT_TRUE(entry.ok());
    // Distinct use times, oldest first: mtimes have coarse steps.
    struct timespec times[2] = {{0, UTIME_OMIT},
                                {1700000000 + digit, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, entry->dir.c_str(), times, 0), 0);
  }
  // A lease (a run using it) makes an entry the most recently used.
  auto used = store_->Find(Key("image-c", '1'));
  ASSERT_TRUE(used.ok() && used->has_value());
  used->reset();

  PrunePolicy policy;
  policy.max_bytes = 2000;
  auto report = store_->Prune(policy, /*dry_run=*/false);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->removed.size(), 1u);
  EXPECT_EQ(report->removed[0].name, "image-c-2222222222222222");
  EXPECT_FALSE(report->removed[0].stale);
  EXPECT_TRUE(fs::exists(store_->dir() / "image-c-1111111111111111"));
  EXPECT_TRUE(fs::exists(store_->dir() / "image-c-3333333333333333"));
}

TEST_F(CacheStoreTest, AnUnreadableEntryDoesNotStopListingPruningOrBuilding) {
  // (Root reads a mode-0 folder anyway: the case is real for other users;
  // EntriesVanishingDuringListAndPruneAreNoError covers both.)
  auto readable = store_->FindOrBuild(Key("image-c", 'e'),
                                      Writes("x", nullptr), {});
  ASSERT_TRUE(readable.ok());
  readable->lease.reset();
  const fs::path locked_out = store_->dir() / "image-c-ffffffffffffffff";
  WriteFile(locked_out / "sub" / "data", "x");
  ASSERT_EQ(::chmod((locked_out / "sub").c_str(), 0), 0);
  // A stray file and a dangling link where entries would be.
  WriteFile(store_->dir() / "image-c-0000000000000000", "not a dir");
  fs::create_symlink("/nonexistent", store_->dir() / "kernel-0000000000000000");

  std::vector<EntryInfo> entries = store_->List();
  std::set<std::string> listed;
  for (const EntryInfo& entry : entries) listed.insert(entry.name);
  EXPECT_EQ(listed, (std::set<std::string>{"image-c-eeeeeeeeeeeeeeee",
                                           "image-c-ffffffffffffffff"}));

  PrunePolicy policy;
  policy.stale = [](const EntryInfo&) { return true; };
  auto report = store_->Prune(policy, /*dry_run=*/false);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(fs::exists(readable->dir));

  auto rebuilt = store_->FindOrBuild(Key("image-c", 'e'),
                                     Writes("y", nullptr), {});
  EXPECT_TRUE(rebuilt.ok()) << rebuilt.status();
}

TEST_F(CacheStoreTest, EntriesVanishingDuringListAndPruneAreNoError) {
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int i = 0; !stop.load(); ++i) {
      const fs::path entry =
          store_->dir() / absl::StrCat("image-c-", std::string(15, 'a'),
                                       i % 10);
      WriteFile(entry / "deep" / "data", "x");
      std::error_code error;
      fs::remove_all(entry, error);
    }
  });
  PrunePolicy policy;
  policy.stale = [](const EntryInfo&) { return false; };
  policy.max_bytes = 1;
  for (int i = 0; i < 200; ++i) {
    (void)store_->List();
    auto report = store_->Prune(policy, /*dry_run=*/i % 2 == 0);
    ASSERT_TRUE(report.ok()) << report.status();
  }
  stop = true;
  churn.join();
}

TEST_F(CacheStoreTest, AnEntryRemovedWhileLeasingIsNotFound) {
  auto made = store_->FindOrBuild(Key("snapshot", 'a'), Writes("x", nullptr),
                                  {});
  ASSERT_TRUE(made.ok());
  const std::string name = made->name;
  made = absl::UnknownError("lease dropped");
  ASSERT_TRUE(store_->Remove(name).ok());
  auto found = store_->Find(Key("snapshot", 'a'));
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(CacheStoreTest, RemoveRefusesALeasedEntry) {
  auto made = store_->FindOrBuild(Key("snapshot", 'b'), Writes("x", nullptr),
                                  {});
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(store_->Remove(made->name).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(fs::exists(made->dir / "data"));
}

TEST(CacheStoreNames, EntryNamesCarryTheKindAndSixteenKeyDigits) {
  EXPECT_EQ(CacheStore::EntryName({"image-python", "0123456789abcdef99", ""}),
            "image-python-0123456789abcdef");
  EXPECT_EQ(CacheStore::KindOfEntry("image-python-0123456789abcdef"),
            "image-python");
  EXPECT_EQ(CacheStore::KindOfEntry("image-python-0123456789ABCDEF"),
            std::nullopt);
  EXPECT_EQ(CacheStore::KindOfEntry("tmp"), std::nullopt);
  EXPECT_EQ(CacheStore::KindOfEntry("-0123456789abcdef"), std::nullopt);
}

}  // namespace
}  // namespace cloudlet::vmm
