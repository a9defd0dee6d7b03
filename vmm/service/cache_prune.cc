#include "vmm/service/cache_prune.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "vmm/vm/vm_snapshots.h"

namespace cloudlet::vmm {

absl::StatusOr<CachePruneReport> PruneCache(const ArtifactCache& artifacts,
                                            bool dry_run, uintmax_t max_bytes) {
  const std::shared_ptr<CacheStore>& store = artifacts.store();
  if (store == nullptr) {
    return absl::FailedPreconditionError("this VMM keeps no cache");
  }
  CachePruneReport report;
  const std::map<std::string, std::optional<std::string>> current =
      artifacts.CurrentEntries();
  std::set<std::string> current_entries;
  for (const auto& [kind, entry] : current) {
    if (entry) {
      current_entries.insert(*entry);
    } else {
      report.undetermined.push_back(kind);
    }
  }
  // Image variants have no current key to compare with (their package
  // lists are the workloads'): each present one counts as current for the
  // snapshots made from it, and leaves only by the LRU cap.
  std::error_code listed;
  for (auto it = std::filesystem::directory_iterator(store->dir(), listed);
       !listed && it != std::filesystem::directory_iterator();
       it.increment(listed)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kVariantEntryPrefix, 0) == 0) current_entries.insert(name);
  }
  // Snapshots are judged by what they were made from; with an artifact
  // undetermined, none can be.
  const bool snapshots_judgeable = report.undetermined.empty();

  PrunePolicy policy;
  policy.max_bytes = max_bytes;
  policy.stale = [&](const EntryInfo& entry) {
    if (entry.kind == kSnapshotEntryKind) {
      return snapshots_judgeable &&
             !SnapshotIsCurrent(entry.dir, current_entries);
    }
    auto known = current.find(entry.kind);
    return known != current.end() && known->second &&
           *known->second != entry.name;
  };
  absl::StatusOr<PruneReport> pruned = store->Prune(policy, dry_run);
  if (!pruned.ok()) return pruned.status();
  static_cast<PruneReport&>(report) = *std::move(pruned);
  return report;
}

}  // namespace cloudlet::vmm
