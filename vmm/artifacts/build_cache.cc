#include "vmm/artifacts/build_cache.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/run_limits.h"
#include "common/workload_names.h"
#include "spdlog/spdlog.h"
#include "vmm/artifacts/artifact_inputs.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;

constexpr char kProgramFile[] = "program.binpb";

// Appends `value` length-prefixed, so that no two input lists hash alike.
void AppendField(std::string& material, absl::string_view value) {
  absl::StrAppend(&material, value.size(), ":", value, "\n");
}

}  // namespace

BuildCache::BuildCache(std::shared_ptr<CacheStore> store)
    : store_(std::move(store)) {}

EntryKey BuildCache::KeyOf(const v1::Workload& workload,
                           absl::string_view runtime_key) {
  std::string material = "cloudlet-build-v2\n";
  AppendField(material, LanguageName(workload.language()));
  AppendField(material, workload.release() ? "release" : "debug");
  AppendField(material, runtime_key);
  // Sorted: a map's order on the wire is not part of the workload.
  std::vector<std::pair<std::string, std::string>> env(workload.env().begin(),
                                                       workload.env().end());
  std::sort(env.begin(), env.end());
  AppendField(material, absl::StrCat(env.size()));
  for (const auto& [name, value] : env) {
    AppendField(material, name);
    AppendField(material, value);
  }
  AppendField(material, workload.code());
  // A project: every file (sorted: their order on the wire is not part of
  // the project), its entry point, and for rust the name that a single
  // file's generated crate (and so its binary) takes.
  std::vector<const v1::File*> files;
  for (const v1::File& file : workload.files()) files.push_back(&file);
  std::sort(files.begin(), files.end(), [](const v1::File* a, const v1::File* b) {
    return a->path() < b->path();
  });
  AppendField(material, absl::StrCat(files.size()));
  for (const v1::File* file : files) {
    AppendField(material, file->path());
    AppendField(material, file->content());
    AppendField(material, file->executable() ? "x" : "-");
  }
  AppendField(material, workload.entrypoint());
  if (workload.language() == v1::RUST) AppendField(material, workload.name());
  return EntryKey{kBuildEntryKind, Sha256Hex(material), kProgramFile};
}

std::optional<CachedBuild> BuildCache::Find(const EntryKey& key) {
  absl::StatusOr<std::optional<CacheEntry>> found = store_->Find(key);
  if (!found.ok()) {
    spdlog::warn("event=build_cache_unreadable entry={} error=\"{}\"",
                 CacheStore::EntryName(key),
                 std::string(found.status().message()));
  }
  if (!found.ok() || !found->has_value()) {
    ++misses_;
    return std::nullopt;
  }
  CachedBuild build{{}, **std::move(found)};
  std::ifstream file(build.entry.dir / kProgramFile, std::ios::binary);
  if (!file || !build.program.ParseFromIstream(&file)) {
    // Written whole and renamed into place, so only a damaged disk or a
    // person gets here: drop it, so that the next build stores it anew.
    const std::string name = build.entry.name;
    build = {};  // the lease with it: Remove refuses a leased entry
    absl::Status removed = store_->Remove(name);
    spdlog::warn("event=build_cache_unreadable entry={} error=\"cannot parse "
                 "{}\" removed={}",
                 name, kProgramFile, removed.ok());
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  return build;
}

absl::Status BuildCache::Store(const EntryKey& key,
                               const v1::BuiltProgram& program) {
  if (program.ByteSizeLong() > kMaxBuiltProgramBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the build output is ", program.ByteSizeLong(),
                     " bytes, over the cache's limit of ",
                     kMaxBuiltProgramBytes));
  }
  bool built = false;
  absl::StatusOr<CacheEntry> entry = store_->FindOrBuild(
      key,
      [&program](const fs::path& out) -> absl::Status {
        std::ofstream file(out / kProgramFile,
                           std::ios::binary | std::ios::trunc);
        if (!program.SerializeToOstream(&file) || !file.flush()) {
          return absl::InternalError(
              absl::StrCat("cannot write ", (out / kProgramFile).string()));
        }
        return absl::OkStatus();
      },
      CacheStore::BuildOptions{}, &built);
  if (!entry.ok()) return entry.status();
  if (built) ++stored_;
  return absl::OkStatus();
}

BuildCache::Counts BuildCache::counts() const {
  return Counts{hits_.load(), misses_.load(), stored_.load()};
}

}  // namespace cloudlet::vmm
