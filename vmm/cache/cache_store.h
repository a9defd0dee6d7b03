#ifndef CLOUDLET_VMM_CACHE_CACHE_STORE_H_
#define CLOUDLET_VMM_CACHE_CACHE_STORE_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/sync/cancel.h"
#include "vmm/cache/file_lock.h"

namespace cloudlet::vmm {

// One cache entry, leased: while any copy of `lease` lives, no prune of
// any process removes the entry.
struct CacheEntry {
  std::string name;           // "image-python-0defb5d5bfe5dfd7"
  std::filesystem::path dir;  // <cache>/<name>
  std::shared_ptr<const FileLock> lease;
};

// What identifies an entry: its kind ("kernel", "image-python",
// "snapshot") and the hash of every input that decides its content.
struct EntryKey {
  std::string kind;
  std::string key;  // hex; its first 16 digits name the entry
  // A file (relative to the entry dir) that every complete entry of the
  // kind has: an entry without it is not found.
  std::string marker;
};

// What the store did for one kind since it was opened.
struct CacheCounts {
  uint64_t hits = 0;
  uint64_t builds = 0;
  uint64_t build_failures = 0;  // a cancelled build counts as neither
};

// An entry on disk, as List and Prune see it.
struct EntryInfo {
  std::string name;  // "<kind>-<key16>"
  std::string kind;
  std::filesystem::path dir;
  uintmax_t bytes = 0;    // its files' sizes (sparse ones as allocated)
  absl::Time last_used;   // the last lease taken on it
};

// How Prune judges entries.
struct PrunePolicy {
  // True for an entry that no current input hashes to: removed first,
  // whatever the size cap. Entries of a kind it does not know stay.
  std::function<bool(const EntryInfo&)> stale;
  // After the stale ones, least-recently-used entries go until the cache
  // holds at most this many bytes (0: no cap).
  uintmax_t max_bytes = 0;
};

// What Prune removed (or, dry, would remove).
struct PruneReport {
  struct Removed {
    std::string name;  // "initramfs-2c72e194fbfcacbc", "tmp/kernel-….Xy12"
    uintmax_t bytes = 0;
    bool stale = true;  // false: removed for the size cap
  };
  std::vector<Removed> removed;
  uintmax_t removed_bytes = 0;
  // Entries Prune would have removed that a lease holds (a VM uses them).
  std::vector<std::string> in_use;
  size_t lock_files_removed = 0;
  // Entries and tmp dirs that could not be read or removed, each with why;
  // Prune goes on past them.
  std::vector<std::string> errors;
};

// The VMM's one cache: a directory of entries, each named
// "<kind>-<key16>" after a hash of all of its inputs, so that a changed
// input is a new entry and an entry never changes once made. Layout:
//   <dir>/<kind>-<key16>/...    complete entries
//   <dir>/tmp/<entry>.XXXXXX/   builds in progress, renamed into place
//   <dir>/locks/<entry>.lock    held exclusively while the entry builds
//   <dir>/locks/<entry>.use     held shared by every lease of the entry
// Builders in other threads and processes build an entry once: the second
// waits for the first and then finds it. Every kind (artifacts, VM
// snapshots, ...) is a key function and a builder on this store.
// Thread-safe; no call throws, and an unreadable file or folder in the
// cache is an error of that entry, never of the store.
class CacheStore {
 public:
  // Creates <dir>, tmp/ and locks/ as needed. Internal when it cannot.
  static absl::StatusOr<std::unique_ptr<CacheStore>> Open(
      std::filesystem::path dir);

  // ${CLOUDLET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlet}.
  static std::filesystem::path DefaultDir();
  // "<kind>-<key16>".
  static std::string EntryName(const EntryKey& key);
  // The kind of "<kind>-<16 hex digits>", nullopt for any other name.
  static std::optional<std::string> KindOfEntry(absl::string_view name);

  const std::filesystem::path& dir() const { return dir_; }

  // The entry, leased, when it is complete in the cache; nullopt when not.
  // Counts a hit when found.
  absl::StatusOr<std::optional<CacheEntry>> Find(const EntryKey& key);

  // Calls build(out_dir) to fill an empty directory with the entry's
  // content; OK only when it holds the whole entry, marker included.
  using Builder = std::function<absl::Status(const std::filesystem::path&)>;
  struct BuildOptions {
    absl::Time deadline = absl::InfiniteFuture();  // for the wait and build
    CancelToken cancel;
    // Called once when another builder holds the entry's lock.
    std::function<void(pid_t holder)> on_wait;
  };
  // Find, else build: under the entry's build lock (waiting for another
  // builder, then looking again) runs `build` in tmp/, renames the result
  // into place and leases it. A build that fails or is cancelled leaves
  // nothing behind and returns its status; `*built` says whether this call
  // built the entry.
  absl::StatusOr<CacheEntry> FindOrBuild(const EntryKey& key,
                                         const Builder& build,
                                         const BuildOptions& options,
                                         bool* built = nullptr);

  // Takes `entry` out of the cache (a rename into tmp/, so a lease taken
  // later finds it gone) and deletes it. Unavailable while leased.
  absl::Status Remove(const std::string& entry);

  // Every entry on disk, by name. Never fails: an entry that cannot be
  // read is listed with what could be read.
  std::vector<EntryInfo> List() const;

  // Removes the stale entries, then least-recently-used ones over the cap,
  // build dirs whose builder is gone and unheld lock files of entries not
  // in the cache. Leased entries stay (report.in_use). Internal only when
  // the cache dir itself cannot be read.
  absl::StatusOr<PruneReport> Prune(const PrunePolicy& policy, bool dry_run);

  // What this store counted for `kind` (see CacheCounts).
  CacheCounts counts(const std::string& kind) const;

 private:
  explicit CacheStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  std::filesystem::path BuildLockPath(absl::string_view entry) const;
  std::filesystem::path UseLockPath(absl::string_view entry) const;
  // The entry's lease when its marker exists, else nullopt.
  absl::StatusOr<std::optional<CacheEntry>> Lease(const EntryKey& key) const;
  void Count(const std::string& kind, uint64_t CacheCounts::*field);

  const std::filesystem::path dir_;
  mutable absl::Mutex counts_mu_;
  std::map<std::string, CacheCounts> counts_ ABSL_GUARDED_BY(counts_mu_);
};

// A size as logs and commands print it: "2.9 MB", "512.0 kB" (decimal).
std::string FormatSize(uintmax_t bytes);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_CACHE_CACHE_STORE_H_
