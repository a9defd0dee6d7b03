#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "vmm/qemu/qemu_command.h"

namespace cloudlet::vmm {
namespace {

// QEMU's option parser splits on ','; a literal comma is written ",,".
std::string QemuOptionValue(const std::filesystem::path& path) {
  return absl::StrReplaceAll(path.string(), {{",", ",,"}});
}

}  // namespace

std::string KernelCommandLine(const VmSpec& spec) {
  // reboot=t + QEMU's -no-reboot: a guest reboot (how /init ends) makes
  // QEMU exit; panic=-1 turns a panic into such a reboot.
  std::string cmdline = absl::StrCat(
      "console=ttyS0 reboot=t panic=-1 quiet cloudlet.port=", spec.guest_port,
      " cloudlet.log=", spec.log_level);
  // TCG offers no TSC-deadline timer, so the kernel calibrates the local
  // APIC timer against the PIT: two 100 ms loops, a quarter of a bare
  // boot. One vCPU needs no per-CPU timer: the PIT serves as the clock
  // event device instead (measured: agent serving 1.46 -> 1.23 s).
  if (spec.accel == Accel::kTcg && spec.vcpus == 1) {
    absl::StrAppend(&cmdline, " noapictimer");
  }
  // TCG finds translated code by guest virtual address too, so a shared
  // library mapped at a new random address in each process is translated
  // again in each. Fixed addresses let every process of a run reuse the
  // code translated for the ones before (measured: 12 % less translated
  // code for a shell run, 4.5 MiB of host RSS; a Rust build 7 % faster).
  // The VM, not the guest's address layout, is what isolates a run.
  if (spec.accel == Accel::kTcg) absl::StrAppend(&cmdline, " norandmaps");
  if (!spec.extra_cmdline.empty()) absl::StrAppend(&cmdline, " ", spec.extra_cmdline);
  return cmdline;
}

std::vector<std::string> QemuCommand(const VmSpec& spec) {
  std::vector<std::string> argv = {
      "qemu-system-x86_64",
      // acpi=off: only then does QEMU put the virtio-mmio devices on the
      // kernel command line, which the ACPI-less guest kernel needs.
      "-M", "microvm,acpi=off",
      "-nodefaults", "-no-user-config", "-nographic", "-no-reboot"};
  if (spec.accel == Accel::kKvm) {
    argv.insert(argv.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    std::string accel = "tcg";
    if (spec.tcg_tb_size_mib > 0) {
      absl::StrAppend(&accel, ",tb-size=", spec.tcg_tb_size_mib);
    }
    argv.insert(argv.end(), {"-accel", accel, "-cpu", "max"});
  }
  if (spec.snapshot_role != SnapshotRole::kNone) {
    const bool source = spec.snapshot_role == SnapshotRole::kSource;
    argv.insert(
        argv.end(),
        {"-object",
         absl::StrCat("memory-backend-file,id=ram,size=", spec.memory_mib,
                      "M,mem-path=", QemuOptionValue(spec.snapshot_dir / "ram"),
                      ",share=", source ? "on" : "off"),
         "-machine", "memory-backend=ram",
         "-qmp", absl::StrCat("unix:", kQmpSocketName, ",server=on,wait=off"),
         // Without the saved run state, a resumed VM starts running as
         // soon as its state is loaded: no QMP `cont` round trip.
         "-global", "migration.store-global-state=off"});
    if (!source) argv.insert(argv.end(), {"-incoming", "defer"});
  }
  argv.insert(argv.end(), {"-m", absl::StrCat(spec.memory_mib), "-smp",
                           absl::StrCat(spec.vcpus), "-serial", "stdio"});
  // A resumed guest never boots: its kernel is already in the snapshot's
  // RAM. Without -kernel QEMU also keeps no copy of the kernel image for
  // fw_cfg (measured: 2.8 MiB less RSS per VM), and the device state still
  // loads, since the kernel and initrd are not RAM blocks.
  if (spec.snapshot_role != SnapshotRole::kResume) {
    argv.insert(argv.end(),
                {"-kernel", spec.kernel.string(), "-initrd",
                 spec.initramfs.string(), "-append", KernelCommandLine(spec)});
  }
  if (!spec.image.empty()) {
    argv.insert(argv.end(),
                {"-drive",
                 absl::StrCat("id=root,file=", QemuOptionValue(spec.image),
                              ",format=raw,if=none,readonly=on"),
                 "-device", "virtio-blk-device,drive=root"});
  }
  // Free page reporting: the guest hands pages it has freed back to QEMU,
  // which drops them, so memory the guest no longer uses (the initramfs
  // after unpacking, a finished build's heap) leaves the host RSS. Not
  // with snapshot RAM: QEMU 7.2 drops a reported page of file-backed RAM
  // by punching a hole in the file, even a privately mapped one, which
  // would zero that page of the snapshot for every VM resumed from it.
  if (spec.snapshot_role == SnapshotRole::kNone) {
    argv.insert(argv.end(),
                {"-device", "virtio-balloon-device,free-page-reporting=on"});
  }
  // restrict=on: the guest reaches nothing; only the forwarded port
  // reaches the guest. ipv6=off: the forward is IPv4, and QEMU's router
  // advertisements only made the guest configure an IPv6 address and
  // routes after every resume (~1k blocks of translated kernel code).
  argv.insert(argv.end(),
              {"-netdev",
               absl::StrCat("user,id=n0,restrict=on,ipv6=off,"
                            "hostfwd=tcp:127.0.0.1:",
                            spec.host_port, "-:", spec.guest_port),
               "-device", "virtio-net-device,netdev=n0"});
  return argv;
}

}  // namespace cloudlet::vmm
