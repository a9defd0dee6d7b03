#ifndef CLOUDLET_VMM_SERVICE_CACHE_PRUNE_H_
#define CLOUDLET_VMM_SERVICE_CACHE_PRUNE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vmm/artifacts/artifact_cache.h"
#include "vmm/cache/cache_store.h"

namespace cloudlet::vmm {

// What PruneCache did: the store's report, and the artifacts whose current
// key cannot be computed (an input is missing), none of whose entries was
// touched since none can be called stale.
struct CachePruneReport : PruneReport {
  std::vector<std::string> undetermined;
};

// Frees the disk that old builds hold in `artifacts`' store: every entry
// of an artifact kind that the current inputs do not hash to (what an
// older agent, build script, kernel config or package list built); every
// VM snapshot made from an entry that is not current; then, with
// `max_bytes`, the least recently used entries until the cache holds at
// most that. Leased entries stay (a VM uses them); so do entries of kinds
// it does not know. With `dry_run` nothing is removed. Internal only when
// the cache dir cannot be read.
absl::StatusOr<CachePruneReport> PruneCache(const ArtifactCache& artifacts,
                                            bool dry_run,
                                            uintmax_t max_bytes = 0);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_SERVICE_CACHE_PRUNE_H_
