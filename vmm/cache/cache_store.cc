#include "vmm/cache/cache_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/process/list_directory.h"
#include "common/process/temp_dir.h"
#include "spdlog/spdlog.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;

constexpr size_t kKeyDigits = 16;
// How long a lease waits for a prune that holds the entry's use lock (it
// holds it for one rename).
constexpr absl::Duration kLeaseWait = absl::Seconds(10);

bool Exists(const fs::path& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// A file's bytes: its size, or what it takes on disk when that is less (a
// sparse snapshot memory file).
uintmax_t FileBytes(const struct stat& st) {
  return std::min(static_cast<uintmax_t>(st.st_size),
                  static_cast<uintmax_t>(st.st_blocks) * 512);
}

// The bytes of the files under `root`; never throws, skips what it cannot
// read.
uintmax_t TreeBytes(const fs::path& root) {
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return FileBytes(st);
  uintmax_t bytes = 0;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(
           root, fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      bytes += FileBytes(st);
    }
  }
  return bytes;
}

void RemoveTree(const fs::path& path, std::vector<std::string>* errors) {
  std::error_code error;
  fs::remove_all(path, error);
  if (error && errors != nullptr) {
    errors->push_back(absl::StrCat(path.string(), ": ", error.message()));
  }
}

// Marks the entry as just used, for the size cap's LRU order.
void Touch(const fs::path& dir) {
  (void)::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CacheStore>> CacheStore::Open(fs::path dir) {
  if (dir.empty()) dir = DefaultDir();
  std::error_code error;
  fs::path absolute = fs::absolute(dir, error);
  if (!error) dir = std::move(absolute);
  for (const fs::path& sub : {dir, dir / "tmp", dir / "locks"}) {
    fs::create_directories(sub, error);
    if (error) {
      return absl::InternalError(absl::StrCat(
          "cannot create cache dir ", sub.string(), ": ", error.message()));
    }
  }
  return std::unique_ptr<CacheStore>(new CacheStore(std::move(dir)));
}

fs::path CacheStore::DefaultDir() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
  };
  if (std::string dir = env("CLOUDLET_CACHE_DIR"); !dir.empty()) return dir;
  if (std::string dir = env("XDG_CACHE_HOME"); !dir.empty()) {
    return fs::path(dir) / "cloudlet";
  }
  if (std::string home = env("HOME"); !home.empty()) {
    return fs::path(home) / ".cache" / "cloudlet";
  }
  return fs::path("/tmp") / absl::StrCat("cloudlet-cache-", ::getuid());
}

std::string CacheStore::EntryName(const EntryKey& key) {
  return absl::StrCat(key.kind, "-", key.key.substr(0, kKeyDigits));
}

std::optional<std::string> CacheStore::KindOfEntry(absl::string_view name) {
  if (name.size() <= kKeyDigits + 1 ||
      name[name.size() - kKeyDigits - 1] != '-') {
    return std::nullopt;
  }
  for (char c : name.substr(name.size() - kKeyDigits)) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) {
      return std::nullopt;
    }
  }
  return std::string(name.substr(0, name.size() - kKeyDigits - 1));
}

fs::path CacheStore::BuildLockPath(absl::string_view entry) const {
  return dir_ / "locks" / absl::StrCat(entry, ".lock");
}

fs::path CacheStore::UseLockPath(absl::string_view entry) const {
  return dir_ / "locks" / absl::StrCat(entry, ".use");
}

absl::StatusOr<std::optional<CacheEntry>> CacheStore::Lease(
    const EntryKey& key) const {
  const std::string name = EntryName(key);
  const fs::path dir = dir_ / name;
  if (!Exists(dir / key.marker)) return std::nullopt;
  absl::StatusOr<FileLock> use =
      FileLock::AcquireShared(UseLockPath(name), absl::Now() + kLeaseWait);
  if (!use.ok()) return use.status();
  // A prune may have taken it between the look and the lock.
  if (!Exists(dir / key.marker)) return std::nullopt;
  Touch(dir);
  return CacheEntry{name, dir,
                    std::make_shared<const FileLock>(*std::move(use))};
}

absl::StatusOr<std::optional<CacheEntry>> CacheStore::Find(
    const EntryKey& key) {
  absl::StatusOr<std::optional<CacheEntry>> found = Lease(key);
  if (found.ok() && found->has_value()) Count(key.kind, &CacheCounts::hits);
  return found;
}

absl::StatusOr<CacheEntry> CacheStore::FindOrBuild(const EntryKey& key,
                                                   const Builder& build,
                                                   const BuildOptions& options,
                                                   bool* built) {
  if (built != nullptr) *built = false;
  absl::StatusOr<std::optional<CacheEntry>> found = Find(key);
  if (!found.ok()) return found.status();
  if (*found) return **std::move(found);

  const std::string name = EntryName(key);
  absl::StatusOr<FileLock> lock = FileLock::Acquire(
      BuildLockPath(name), options.deadline, options.cancel, options.on_wait);
  if (!lock.ok()) return lock.status();
  // The builder we waited for may have made it.
  found = Find(key);
  if (!found.ok()) return found.status();
  if (*found) return **std::move(found);

  // Whoever holds the build lock owns tmp/<entry>.*: with it held, any
  // such dir was left by a builder that died.
  if (absl::StatusOr<std::vector<std::string>> tmp = ListDirectory(dir_ / "tmp");
      tmp.ok()) {
    for (const std::string& dir : *tmp) {
      if (absl::StartsWith(dir, absl::StrCat(name, "."))) {
        spdlog::info("event=cache_tmp_removed dir={}", dir);
        RemoveTree(dir_ / "tmp" / dir, nullptr);
      }
    }
  }
  absl::StatusOr<TempDir> work =
      TempDir::Create(absl::StrCat(name, "."), dir_ / "tmp");
  if (!work.ok()) return work.status();
  const fs::path out = work->path() / "out";
  if (::mkdir(out.c_str(), 0755) != 0) {
    return absl::InternalError(absl::StrCat("cannot create ", out.string(),
                                            ": ", std::strerror(errno)));
  }
  absl::Status status = build(out);
  if (status.ok() && !Exists(out / key.marker)) {
    status = absl::InternalError(absl::StrCat(
        "building ", name, " did not write ", key.marker));
  }
  if (!status.ok()) {
    if (!absl::IsCancelled(status)) {
      Count(key.kind, &CacheCounts::build_failures);
    }
    return status;  // `work` goes, and the half-built entry with it
  }
  if (::rename(out.c_str(), (dir_ / name).c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot move ", name,
                                            " into the cache: ",
                                            std::strerror(errno)));
  }
  Count(key.kind, &CacheCounts::builds);
  if (built != nullptr) *built = true;
  absl::StatusOr<std::optional<CacheEntry>> leased = Lease(key);
  if (!leased.ok()) return leased.status();
  if (!*leased) {
    return absl::UnavailableError(
        absl::StrCat(name, " was pruned the moment it was built; run again"));
  }
  return **std::move(leased);
}

absl::Status CacheStore::Remove(const std::string& entry) {
  absl::StatusOr<FileLock> unused = FileLock::TryAcquire(UseLockPath(entry));
  if (!unused.ok()) return unused.status();
  fs::path doomed =
      dir_ / "tmp" / absl::StrCat(entry, ".removed-", ::getpid());
  RemoveTree(doomed, nullptr);
  if (::rename((dir_ / entry).c_str(), doomed.c_str()) != 0) {
    return absl::InternalError(absl::StrCat(
        "cannot move ", entry, " out of the cache: ", std::strerror(errno)));
  }
  { FileLock released = *std::move(unused); }
  std::vector<std::string> errors;
  RemoveTree(doomed, &errors);
  for (const std::string& error : errors) {
    spdlog::warn("event=cache_remove_incomplete entry={} error=\"{}\"", entry,
                 error);
  }
  return absl::OkStatus();
}

std::vector<EntryInfo> CacheStore::List() const {
  std::vector<EntryInfo> entries;
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(dir_);
  if (!names.ok()) return entries;
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    std::optional<std::string> kind = KindOfEntry(name);
    struct stat st;
    if (!kind || ::lstat((dir_ / name).c_str(), &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
      continue;
    }
    EntryInfo& info = entries.emplace_back();
    info.name = name;
    info.kind = *kind;
    info.dir = dir_ / name;
    info.bytes = TreeBytes(info.dir);
    info.last_used = absl::TimeFromTimespec(st.st_mtim);
  }
  return entries;
}

absl::StatusOr<PruneReport> CacheStore::Prune(const PrunePolicy& policy,
                                              bool dry_run) {
  PruneReport report;
  absl::StatusOr<std::vector<std::string>> top = ListDirectory(dir_);
  if (!top.ok()) return top.status();

  std::vector<EntryInfo> entries = List();
  uintmax_t total = 0;
  for (const EntryInfo& entry : entries) total += entry.bytes;

  // Takes `entry` out (or, dry, checks that nobody leases it).
  auto remove = [&](const EntryInfo& entry, bool stale) {
    absl::Status status;
    if (dry_run) {
      status = FileLock::TryAcquire(UseLockPath(entry.name)).status();
    } else {
      status = Remove(entry.name);
    }
    if (absl::IsUnavailable(status)) {
      report.in_use.push_back(entry.name);
      return;
    }
    if (!status.ok()) {
      report.errors.push_back(std::string(status.message()));
      return;
    }
    if (!dry_run) {
      spdlog::info("event=cache_pruned entry={} bytes={} stale={}",
                   entry.name, entry.bytes, stale);
    }
    report.removed.push_back({entry.name, entry.bytes, stale});
    report.removed_bytes += entry.bytes;
    total -= std::min(total, entry.bytes);
  };

  std::vector<const EntryInfo*> live;
  for (const EntryInfo& entry : entries) {
    if (policy.stale && policy.stale(entry)) {
      remove(entry, /*stale=*/true);
    } else {
      live.push_back(&entry);
    }
  }
  if (policy.max_bytes > 0 && total > policy.max_bytes) {
    std::sort(live.begin(), live.end(),
              [](const EntryInfo* a, const EntryInfo* b) {
                return a->last_used < b->last_used;
              });
    for (const EntryInfo* entry : live) {
      if (total <= policy.max_bytes) break;
      remove(*entry, /*stale=*/false);
    }
  }

  // Build dirs are tmp/<entry>.<suffix>; a builder holds the entry's build
  // lock for as long as it works in one. Dirs of removed entries
  // (<entry>.removed-<pid>) whose removal was cut short go too.
  absl::StatusOr<std::vector<std::string>> tmp = ListDirectory(dir_ / "tmp");
  if (!tmp.ok()) report.errors.push_back(std::string(tmp.status().message()));
  for (const std::string& name : tmp.ok() ? *tmp : std::vector<std::string>{}) {
    std::string entry = name.substr(0, name.find('.'));
    if (entry == name || !KindOfEntry(entry)) continue;
    absl::StatusOr<FileLock> builder_gone =
        FileLock::TryAcquire(BuildLockPath(entry));
    if (!builder_gone.ok()) continue;
    uintmax_t bytes = TreeBytes(dir_ / "tmp" / name);
    if (!dry_run) {
      std::vector<std::string> errors;
      RemoveTree(dir_ / "tmp" / name, &errors);
      if (!errors.empty()) {
        report.errors.insert(report.errors.end(), errors.begin(),
                             errors.end());
        continue;
      }
    }
    report.removed.push_back({absl::StrCat("tmp/", name), bytes, true});
    report.removed_bytes += bytes;
  }

  // Last: the checks above create the lock files they try. A lock file
  // whose entry is not in the cache and that nobody holds goes.
  if (dry_run) return report;
  absl::StatusOr<std::vector<std::string>> locks = ListDirectory(dir_ / "locks");
  for (const std::string& name :
       locks.ok() ? *locks : std::vector<std::string>{}) {
    fs::path path = dir_ / "locks" / name;
    std::string extension = path.extension().string();
    std::string entry = path.stem().string();
    if ((extension != ".lock" && extension != ".use") || !KindOfEntry(entry) ||
        Exists(dir_ / entry)) {
      continue;
    }
    absl::StatusOr<FileLock> unheld = FileLock::TryAcquire(path);
    if (unheld.ok() && std::move(*unheld).RemoveFile().ok()) {
      ++report.lock_files_removed;
    }
  }
  return report;
}

void CacheStore::Count(const std::string& kind, uint64_t CacheCounts::*field) {
  absl::MutexLock lock(&counts_mu_);
  ++(counts_[kind].*field);
}

CacheCounts CacheStore::counts(const std::string& kind) const {
  absl::MutexLock lock(&counts_mu_);
  auto it = counts_.find(kind);
  return it == counts_.end() ? CacheCounts{} : it->second;
}

std::string FormatSize(uintmax_t bytes) {
  if (bytes >= 1000000) return absl::StrFormat("%.1f MB", bytes / 1e6);
  return absl::StrFormat("%.1f kB", bytes / 1e3);
}

}  // namespace cloudlet::vmm
