#include "vmm/artifacts/build_cache.h"

#include <fstream>
#include <memory>
#include <string>

#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;

v1::Workload Workload(std::string code) {
  v1::Workload workload;
  workload.set_language(v1::C);
  workload.set_code(std::move(code));
  (*workload.mutable_env())["A"] = "1";
  (*workload.mutable_env())["B"] = "2";
  return workload;
}

v1::BuiltProgram Program(std::string content) {
  v1::BuiltProgram program;
  v1::File* file = program.add_files();
  file->set_path("main");
  file->set_content(std::move(content));
  file->set_executable(true);
  return program;
}

class BuildCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("build-cache-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(*std::move(dir));
    absl::StatusOr<std::unique_ptr<CacheStore>> store =
        CacheStore::Open(dir_->path());
    ASSERT_TRUE(store.ok());
    cache_ = std::make_unique<BuildCache>(std::move(*store));
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<BuildCache> cache_;
};

TEST(BuildCacheKeyTest, EveryInputThatDecidesTheBuildChangesTheKey) {
  const v1::Workload base = Workload("int main(){}");
  const std::string key = BuildCache::KeyOf(base, "runtime-1").key;
  EXPECT_EQ(BuildCache::KeyOf(base, "runtime-1").key, key);  // stable

  v1::Workload one_byte = base;
  one_byte.set_code("int main(){ }");
  v1::Workload release = base;
  release.set_release(true);
  v1::Workload language = base;
  language.set_language(v1::CPP);
  v1::Workload env = base;
  (*env.mutable_env())["B"] = "3";
  for (const v1::Workload& changed : {one_byte, release, language, env}) {
    EXPECT_NE(BuildCache::KeyOf(changed, "runtime-1").key, key)
        << changed.ShortDebugString();
  }
  EXPECT_NE(BuildCache::KeyOf(base, "runtime-2").key, key);
}

TEST(BuildCacheKeyTest, WhatOnlyTheRunSeesLeavesTheKeyAlone) {
  const v1::Workload base = Workload("int main(){}");
  v1::Workload run_only = base;
  run_only.add_args("x");
  run_only.set_stdin("input");
  run_only.set_name("other-name");
  run_only.set_action(v1::RUN);
  run_only.set_rebuild(true);
  run_only.mutable_timeout()->set_seconds(3);
  EXPECT_EQ(BuildCache::KeyOf(run_only, "r").key,
            BuildCache::KeyOf(base, "r").key);
}

TEST(BuildCacheKeyTest, FieldsCannotBleedIntoEachOther) {
  v1::Workload a = Workload("x");
  a.mutable_env()->clear();
  (*a.mutable_env())["K"] = "V\n1:x";
  v1::Workload b = Workload("x");
  b.mutable_env()->clear();
  (*b.mutable_env())["K"] = "V";
  EXPECT_NE(BuildCache::KeyOf(a, "r").key, BuildCache::KeyOf(b, "r").key);
}

TEST_F(BuildCacheTest, AStoredBuildIsFoundLeasedAndCounted) {
  EntryKey key = BuildCache::KeyOf(Workload("int main(){}"), "r");
  EXPECT_FALSE(cache_->Find(key).has_value());
  ASSERT_TRUE(cache_->Store(key, Program("ELF...")).ok());
  std::optional<CachedBuild> found = cache_->Find(key);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->program.files(0).content(), "ELF...");
  EXPECT_TRUE(found->program.files(0).executable());
  EXPECT_NE(found->entry.lease, nullptr);
  EXPECT_EQ(found->entry.name, CacheStore::EntryName(key));
  BuildCache::Counts counts = cache_->counts();
  EXPECT_EQ(counts.hits, 1u);
  EXPECT_EQ(counts.misses, 1u);
  EXPECT_EQ(counts.stored, 1u);
}

TEST_F(BuildCacheTest, AnEntryIsNeverReplaced) {
  EntryKey key = BuildCache::KeyOf(Workload("int main(){}"), "r");
  ASSERT_TRUE(cache_->Store(key, Program("first")).ok());
  ASSERT_TRUE(cache_->Store(key, Program("second")).ok());
  EXPECT_EQ(cache_->Find(key)->program.files(0).content(), "first");
  EXPECT_EQ(cache_->counts().stored, 1u);
}

TEST_F(BuildCacheTest, ACorruptEntryIsAMissAndIsReplaced) {
  EntryKey key = BuildCache::KeyOf(Workload("int main(){}"), "r");
  ASSERT_TRUE(cache_->Store(key, Program("ok")).ok());
  std::ofstream(dir_->path() / CacheStore::EntryName(key) / key.marker,
                std::ios::trunc)
      << "\xff\xff\xff not a protobuf";
  EXPECT_FALSE(cache_->Find(key).has_value());
  EXPECT_EQ(cache_->counts().misses, 1u);
  // It was dropped, so the next build is kept again.
  ASSERT_TRUE(cache_->Store(key, Program("again")).ok());
  ASSERT_TRUE(cache_->Find(key).has_value());
  EXPECT_EQ(cache_->Find(key)->program.files(0).content(), "again");
}

TEST_F(BuildCacheTest, NothingIsLeftInTmpAfterStoring) {
  EntryKey key = BuildCache::KeyOf(Workload("int main(){}"), "r");
  ASSERT_TRUE(cache_->Store(key, Program("ok")).ok());
  EXPECT_TRUE(fs::is_empty(dir_->path() / "tmp"));
}

}  // namespace
}  // namespace cloudlet::vmm
