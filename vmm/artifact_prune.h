#ifndef CLOUDLET_VMM_ARTIFACT_PRUNE_H_
#define CLOUDLET_VMM_ARTIFACT_PRUNE_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vmm/artifacts.h"

namespace cloudlet::vmm {

// What PruneArtifactCache removed, or with a dry run would remove.
struct PruneReport {
  struct Removed {
    std::string name;  // "initramfs-2c72e194fbfcacbc", "tmp/kernel-….Xy12"
    uintmax_t bytes = 0;
  };
  std::vector<Removed> removed;
  uintmax_t removed_bytes = 0;
  // Stale entries kept because a GuestArtifacts lease holds them (a VM of
  // this or another VMM process boots from them).
  std::vector<std::string> in_use;
  // Artifacts whose current key cannot be computed (an input is missing):
  // none of their entries is touched, as none can be called stale.
  std::vector<std::string> undetermined;
  // Lock files (locks/) of entries no longer in the cache, deleted.
  size_t lock_files_removed = 0;
};

// Moves the cache entry `entry` (a directory in `cache_dir`) into tmp/
// under its use lock, so that a lease taken later finds it gone, then
// deletes it there. Unavailable when a lease holds it; Internal when it
// cannot be moved.
absl::Status RemoveCacheEntry(const std::filesystem::path& cache_dir,
                              const std::string& entry);

// Frees the disk that old builds hold. Removes from `cache`'s directory:
//  - every entry ("<prefix>-<key16>") of a known artifact that the current
//    inputs do not hash to: what an older agent, build script, kernel
//    config or package list built. An entry in use (see
//    GuestArtifacts::lease) stays; it is taken out of the cache with a
//    rename, so a run never sees it half removed;
//  - every VM snapshot ("snapshot-<key16>", vmm/vm_snapshots.h) made
//    from an entry that is not current (or whose inputs file is missing);
//    one in use stays. A snapshot of a current VM shape stays;
//  - build temp dirs (tmp/<entry>.*) whose builder is gone;
//  - the lock files of entries not in the cache, unless held.
// The entries the current inputs hash to and anything else in the
// directory stay. With `dry_run` nothing is removed. Internal when the
// cache directory cannot be read or an entry cannot be moved out.
absl::StatusOr<PruneReport> PruneArtifactCache(const ArtifactCache& cache,
                                               bool dry_run);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_ARTIFACT_PRUNE_H_
