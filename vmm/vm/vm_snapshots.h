#ifndef CLOUDLET_VMM_VM_VM_SNAPSHOTS_H_
#define CLOUDLET_VMM_VM_VM_SNAPSHOTS_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vmm/cache/cache_store.h"
#include "vmm/qemu/qemu_process.h"

namespace cloudlet::vmm {

// A saved microVM whose agent was serving: <cache>/snapshot-<key16>/ holds
//   ram     the guest's memory, mapped copy-on-write by every resumed VM
//   state   QEMU's device state (its migration stream without the RAM)
//   inputs  the cache entries it was made from (kernel, initramfs, image),
//           one per line, for prunes (SnapshotIsCurrent)
struct VmSnapshot {
  std::string entry;  // "snapshot-<key16>"
  std::filesystem::path dir;
  // The entry's shared use lock: keep it while a VM maps the snapshot.
  std::shared_ptr<const FileLock> lease;
};

// Makes and resumes VM snapshots, so that a run starts from a guest whose
// agent already serves instead of booting one (TCG: ~0.3 s against ~1 s).
// Each resumed VM is a fresh QEMU process with its own private copy of the
// guest's memory; nothing of one run reaches another. The guest's clock and
// random generator, which a snapshot freezes, are reset by the agent from
// each ExecuteRequest's host_time and host_entropy. Thread-safe.
class VmSnapshots {
 public:
  // Keeps the snapshots in `store` (entries of kind kSnapshotEntryKind).
  explicit VmSnapshots(std::shared_ptr<CacheStore> store);

  // The snapshot of a VM booted as `spec` (its host port, name and
  // snapshot fields aside; the key hashes the rest of its QEMU command,
  // QEMU's version and, under KVM, the host CPU), leased. When missing, boots `spec` once in
  // `runtime_dir`, stops it when its agent serves and saves it: about a
  // boot's time; a second caller waits for the first. DeadlineExceeded
  // after `deadline`; Cancelled once `cancel` is.
  absl::StatusOr<VmSnapshot> Ensure(const VmSpec& spec,
                                    const std::filesystem::path& runtime_dir,
                                    absl::Time deadline,
                                    const CancelToken& cancel);

  // Starts a VM as `spec` from `snapshot` in `runtime_dir` and returns once
  // its guest runs again (its agent answers moments later). Errors as
  // QemuProcess::Start, or DataLoss when QEMU cannot load the snapshot
  // (see Discard).
  static absl::StatusOr<std::unique_ptr<QemuProcess>> Resume(
      VmSpec spec, const VmSnapshot& snapshot,
      const std::filesystem::path& runtime_dir, absl::Time deadline);

  // Drops `snapshot`'s lease and removes it from the cache unless another
  // VM holds it, so that the next Ensure makes it again: for a snapshot
  // QEMU could not load. Best effort.
  void Discard(VmSnapshot snapshot);

 private:
  absl::StatusOr<std::string> Key(const VmSpec& spec);
  // Boots `spec` as a snapshot source and saves it into `dir`.
  static absl::Status Create(VmSpec spec, const std::filesystem::path& dir,
                             const std::filesystem::path& runtime_dir,
                             absl::Time deadline, const CancelToken& cancel);
  const std::shared_ptr<CacheStore> store_;
  absl::Mutex mutex_;
  std::optional<std::string> qemu_version_ ABSL_GUARDED_BY(mutex_);
};

// The kind of snapshot entries in the cache store.
inline constexpr char kSnapshotEntryKind[] = "snapshot";
// The file in a snapshot entry naming the entries it was made from.
inline constexpr char kSnapshotInputsFile[] = "inputs";

// Whether the snapshot in `entry_dir` was made from entries that are all
// in `current_entries`: false when its inputs file is missing or names
// another entry.
bool SnapshotIsCurrent(const std::filesystem::path& entry_dir,
                       const std::set<std::string>& current_entries);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_VM_VM_SNAPSHOTS_H_
