#ifndef CLOUDLET_VMM_VM_RUNTIME_STATE_H_
#define CLOUDLET_VMM_VM_RUNTIME_STATE_H_

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cloudlet::vmm {

// The VMM's runtime dir holds one `vm-<run id>` directory per VM it runs,
// with an `owner` file naming the VMM process and, once started, the QEMU
// process (pid and kernel start time each, so a reused pid is not
// mistaken for the original). State whose VMM is gone is stale.

// ${XDG_RUNTIME_DIR:-/tmp}/cloudlet-vmm-<uid>.
std::filesystem::path DefaultRuntimeDir();

// Creates `dir` (and its parents) if needed, mode 0700.
absl::Status CreateRuntimeDir(const std::filesystem::path& dir);

// Removes every `vm-*` directory under `runtime_dir` whose owning VMM
// process no longer runs, first killing its QEMU if that somehow still
// runs. Leaves the state of live VMMs alone. Returns how many it removed.
int RemoveStaleVmState(const std::filesystem::path& runtime_dir);

// One VM's state directory, owned by this process; removed (with all it
// holds) on destruction. Move-only.
class VmStateDir {
 public:
  // Creates <runtime_dir>/vm-<run_id> and records this process as owner.
  static absl::StatusOr<VmStateDir> Create(
      const std::filesystem::path& runtime_dir, absl::string_view run_id);

  VmStateDir(VmStateDir&& other) noexcept;
  VmStateDir& operator=(VmStateDir&& other) noexcept;
  VmStateDir(const VmStateDir&) = delete;
  VmStateDir& operator=(const VmStateDir&) = delete;
  ~VmStateDir();

  const std::filesystem::path& path() const { return path_; }

  // Records the VM's process (QEMU, or a host agent) so that a later VMM
  // kills it if this one dies first.
  absl::Status RecordVmProcess(pid_t pid);

 private:
  explicit VmStateDir(std::filesystem::path path) : path_(std::move(path)) {}
  void Remove();

  std::filesystem::path path_;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_VM_RUNTIME_STATE_H_
