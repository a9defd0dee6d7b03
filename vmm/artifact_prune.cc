#include "vmm/artifact_prune.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "vmm/file_lock.h"
#include "vmm/vm_snapshots.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;

constexpr size_t kKeyDigits = 16;

// "initramfs-2c72e194fbfcacbc" -> "initramfs"; nullopt when the name does
// not end in "-" and 16 lowercase hex digits.
std::optional<std::string> PrefixOfEntry(const std::string& name) {
  if (name.size() <= kKeyDigits + 1 ||
      name[name.size() - kKeyDigits - 1] != '-') {
    return std::nullopt;
  }
  for (size_t i = name.size() - kKeyDigits; i < name.size(); ++i) {
    char c = name[i];
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) {
      return std::nullopt;
    }
  }
  return name.substr(0, name.size() - kKeyDigits - 1);
}

uintmax_t TreeBytes(const fs::path& root) {
  std::error_code error;
  if (fs::is_regular_file(root, error)) return fs::file_size(root, error);
  uintmax_t bytes = 0;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error)) {
      uintmax_t size = it->file_size(size_error);
      if (!size_error) bytes += size;
    }
  }
  return bytes;
}

// Deletes locks/<entry>.lock and .use files whose entry is not in the cache
// and that nobody holds; returns how many.
size_t RemoveOrphanLockFiles(const fs::path& cache_dir) {
  size_t removed = 0;
  std::error_code error;
  for (const auto& file : fs::directory_iterator(cache_dir / "locks", error)) {
    const fs::path& path = file.path();
    std::string entry = path.stem().string();
    if ((path.extension() != ".lock" && path.extension() != ".use") ||
        !PrefixOfEntry(entry) || fs::exists(cache_dir / entry)) {
      continue;
    }
    absl::StatusOr<FileLock> unheld = FileLock::TryAcquire(path);
    if (unheld.ok() && std::move(*unheld).RemoveFile().ok()) ++removed;
  }
  return removed;
}

// Whether a snapshot entry was made from entries that are all in
// `current`: false when its inputs file is missing or names another entry.
bool SnapshotIsCurrent(const fs::path& entry,
                       const std::set<std::string>& current) {
  std::ifstream inputs(entry / kSnapshotInputsFile);
  if (!inputs) return false;
  std::string input;
  while (std::getline(inputs, input)) {
    if (!input.empty() && current.count(input) == 0) return false;
  }
  return true;
}

}  // namespace

absl::Status RemoveCacheEntry(const fs::path& cache_dir,
                              const std::string& entry) {
  absl::StatusOr<FileLock> unused =
      FileLock::TryAcquire(EntryUseLockPath(cache_dir, entry));
  if (!unused.ok()) return unused.status();
  fs::path doomed =
      cache_dir / "tmp" / absl::StrCat(entry, ".pruned-", ::getpid());
  std::error_code error;
  fs::remove_all(doomed, error);
  if (::rename((cache_dir / entry).c_str(), doomed.c_str()) != 0) {
    return absl::InternalError(absl::StrCat(
        "cannot move ", entry, " out of the cache: ", std::strerror(errno)));
  }
  { FileLock released = *std::move(unused); }
  fs::remove_all(doomed, error);
  if (error) {
    spdlog::warn("artifact_entry={} event=prune_incomplete error=\"{}\"", entry,
                 error.message());
  }
  return absl::OkStatus();
}

absl::StatusOr<PruneReport> PruneArtifactCache(const ArtifactCache& cache,
                                               bool dry_run) {
  const fs::path& cache_dir = cache.cache_dir();
  PruneReport report;
  // By entry prefix: the entry the current inputs hash to, or nullopt when
  // the key cannot be computed.
  std::map<std::string, std::optional<std::string>> current;
  for (const v1::ArtifactState& state : cache.List()) {
    std::optional<std::string>& entry =
        current[ArtifactEntryPrefix(state.name())];
    if (state.key().empty()) {
      report.undetermined.push_back(state.name());
    } else {
      entry = ArtifactEntryName(state.name(), state.key());
    }
  }

  // Snapshots are judged by what they were made from; with an artifact
  // undetermined, none can be.
  std::set<std::string> current_entries;
  for (const auto& [prefix, entry] : current) {
    if (entry) current_entries.insert(*entry);
  }
  const bool snapshots_judgeable = report.undetermined.empty();

  std::set<std::string> stale;
  std::error_code error;
  for (const auto& dir : fs::directory_iterator(cache_dir, error)) {
    std::string name = dir.path().filename().string();
    std::optional<std::string> prefix = PrefixOfEntry(name);
    if (!prefix || !dir.is_directory()) continue;
    if (*prefix == kSnapshotEntryPrefix) {
      if (snapshots_judgeable &&
          !SnapshotIsCurrent(dir.path(), current_entries)) {
        stale.insert(name);
      }
      continue;
    }
    auto known = current.find(*prefix);
    if (known == current.end() || !known->second) continue;
    if (*known->second != name) stale.insert(name);
  }
  if (error) {
    return absl::InternalError(absl::StrCat("cannot read the cache dir ",
                                            cache_dir.string(), ": ",
                                            error.message()));
  }

  auto removed = [&](std::string name, uintmax_t bytes) {
    report.removed_bytes += bytes;
    report.removed.push_back({std::move(name), bytes});
  };
  for (const std::string& entry : stale) {
    uintmax_t bytes = TreeBytes(cache_dir / entry);
    absl::Status status;
    if (dry_run) {
      status =
          FileLock::TryAcquire(EntryUseLockPath(cache_dir, entry)).status();
    } else {
      status = RemoveCacheEntry(cache_dir, entry);
    }
    if (absl::IsUnavailable(status)) {
      report.in_use.push_back(entry);
      continue;
    }
    if (!status.ok()) return status;
    if (!dry_run) {
      spdlog::debug("artifact_entry={} event=pruned bytes={}", entry, bytes);
    }
    removed(entry, bytes);
  }

  // Build dirs are tmp/<entry>.<suffix>; the builder holds the entry's build
  // lock for as long as it works in one.
  for (const auto& dir : fs::directory_iterator(cache_dir / "tmp", error)) {
    std::string name = dir.path().filename().string();
    std::string entry = name.substr(0, name.find('.'));
    if (entry == name || !PrefixOfEntry(entry)) continue;
    absl::StatusOr<FileLock> builder_gone =
        FileLock::TryAcquire(EntryBuildLockPath(cache_dir, entry));
    if (!builder_gone.ok()) continue;
    uintmax_t bytes = TreeBytes(dir.path());
    if (!dry_run) {
      std::error_code remove_error;
      fs::remove_all(dir.path(), remove_error);
      if (remove_error) continue;
      spdlog::debug("artifact_tmp={} event=pruned bytes={}", name, bytes);
    }
    removed(absl::StrCat("tmp/", name), bytes);
  }

  // Last: the checks above create the lock files they try.
  if (!dry_run) report.lock_files_removed = RemoveOrphanLockFiles(cache_dir);
  return report;
}

}  // namespace cloudlet::vmm
