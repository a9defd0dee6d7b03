#ifndef CLOUDLET_VMM_ARTIFACTS_BUILD_CACHE_H_
#define CLOUDLET_VMM_ARTIFACTS_BUILD_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent.pb.h"
#include "vmm/cache/cache_store.h"

namespace cloudlet::vmm {

// The kind of build entries in the cache store.
inline constexpr char kBuildEntryKind[] = "build";

// A build found in the cache, leased while the run that uses it lives.
struct CachedBuild {
  v1::BuiltProgram program;
  CacheEntry entry;
};

// Keeps successful builds, so that a workload built once is not built
// again: each is an entry <cache>/build-<key16>/program.binpb (the agent's
// BuiltProgram, serialized) under a key that hashes everything that decides
// the build: language, code, release flag, the environment (the build sees
// it all), and the runtime the agent builds in (the image and the agent
// itself, see GuestArtifacts::runtime_key). A failed build never gets here:
// the agent returns outputs only after a build succeeded. Entries are pruned
// with the rest of the store (least recently used first under the size
// cap). Thread-safe.
class BuildCache {
 public:
  explicit BuildCache(std::shared_ptr<CacheStore> store);

  // The key of `workload`'s build in `runtime_key`'s runtime.
  static EntryKey KeyOf(const v1::Workload& workload,
                        absl::string_view runtime_key);

  // The cached build under `key`, leased; nullopt on a miss. An entry that
  // cannot be read is a miss (logged, and removed when it cannot be
  // parsed), never an error of the run.
  std::optional<CachedBuild> Find(const EntryKey& key);

  // Keeps `program` under `key` (build-then-rename through the store: a
  // crash leaves no half entry). An entry already there is kept as is.
  absl::Status Store(const EntryKey& key, const v1::BuiltProgram& program);

  // Since this object was made: lookups that found a build, lookups that
  // did not, builds stored.
  struct Counts {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t stored = 0;
  };
  Counts counts() const;

 private:
  const std::shared_ptr<CacheStore> store_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> stored_{0};
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_ARTIFACTS_BUILD_CACHE_H_
