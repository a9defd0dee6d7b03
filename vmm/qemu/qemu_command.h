#ifndef CLOUDLET_VMM_QEMU_QEMU_COMMAND_H_
#define CLOUDLET_VMM_QEMU_QEMU_COMMAND_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vmm/qemu/accel.h"

namespace cloudlet::vmm {

// How a VM's memory relates to a saved snapshot (vmm/vm_snapshots.h).
enum class SnapshotRole {
  // Anonymous RAM, booted; free page reporting hands freed pages back.
  kNone,
  // Booted with its RAM in <snapshot_dir>/ram, mapped shared, so that the
  // file holds the guest's memory once QEMU stops it; QMP on qmp.sock.
  kSource,
  // RAM mapped copy-on-write from <snapshot_dir>/ram (pages are read on
  // first touch and shared through the page cache); waits for the device
  // state over QMP (-incoming defer) instead of booting.
  kResume,
};

// Everything that decides a QEMU command line.
struct VmSpec {
  std::filesystem::path kernel;
  std::filesystem::path initramfs;
  std::filesystem::path image;  // attached read-only as virtio-blk; optional
  uint32_t memory_mib = 256;
  uint32_t vcpus = 1;
  Accel accel = Accel::kTcg;
  uint16_t host_port = 0;       // loopback port forwarded to the agent
  uint16_t guest_port = 5000;   // the agent's port inside the guest
  std::string log_level = "info";
  // TCG translation cache size; 0: QEMU's default (which costs host RSS:
  // see bench/boot).
  uint32_t tcg_tb_size_mib = 0;
  std::string extra_cmdline;     // appended to the kernel command line
  std::string name;              // for logs, e.g. the run id; optional
  SnapshotRole snapshot_role = SnapshotRole::kNone;
  std::filesystem::path snapshot_dir;  // absolute; unless kNone
};

// The QMP socket of a VM whose snapshot_role is not kNone, relative to the
// VM's directory (QEMU's working directory): see QemuProcess::dir().
inline constexpr char kQmpSocketName[] = "qmp.sock";

// The guest kernel's command line for `spec` (console, reboot-on-halt,
// cloudlet.port, cloudlet.log, timer set-up, extra_cmdline). Pure.
std::string KernelCommandLine(const VmSpec& spec);

// The QEMU argv for `spec`, argv[0] = "qemu-system-x86_64". Pure.
std::vector<std::string> QemuCommand(const VmSpec& spec);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_QEMU_QEMU_COMMAND_H_
