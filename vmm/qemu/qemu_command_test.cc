#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/qemu/qemu_process.h"

namespace cloudlet::vmm {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

VmSpec Spec() {
  VmSpec spec;
  spec.kernel = "/cache/kernel-1/bzImage";
  spec.initramfs = "/cache/initramfs-2/initrd.cpio";
  spec.image = "/cache/image-python-3/image.sqfs";
  spec.host_port = 41234;
  return spec;
}

// The value following `option` in argv ("" when absent).
std::string ValueOf(const std::vector<std::string>& argv,
                    const std::string& option) {
  auto it = std::find(argv.begin(), argv.end(), option);
  if (it == argv.end() || it + 1 == argv.end()) return "";
  return *(it + 1);
}

// Every value that follows `option` in argv, in order.
std::vector<std::string> OptionValues(const std::vector<std::string>& argv,
                                      const std::string& option) {
  std::vector<std::string> values;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == option) values.push_back(argv[i + 1]);
  }
  return values;
}

TEST(QemuCommand, StartsAMicrovmWithoutAcpiDefaultsOrReboot) {
  std::vector<std::string> argv = QemuCommand(Spec());
  EXPECT_EQ(argv[0], "qemu-system-x86_64");
  EXPECT_EQ(ValueOf(argv, "-M"), "microvm,acpi=off");
  EXPECT_THAT(argv, Contains("-nodefaults"));
  EXPECT_THAT(argv, Contains("-no-user-config"));
  EXPECT_THAT(argv, Contains("-nographic"));
  EXPECT_THAT(argv, Contains("-no-reboot"));
  EXPECT_EQ(ValueOf(argv, "-serial"), "stdio");
}

TEST(QemuCommand, UsesKvmWithHostCpu) {
  VmSpec spec = Spec();
  spec.accel = Accel::kKvm;
  std::vector<std::string> argv = QemuCommand(spec);
  EXPECT_EQ(ValueOf(argv, "-accel"), "kvm");
  EXPECT_EQ(ValueOf(argv, "-cpu"), "host");
}

TEST(QemuCommand, UsesTcgWithMaxCpuWhenKvmUnavailable) {
  VmSpec spec = Spec();
  spec.accel = Accel::kTcg;
  std::vector<std::string> argv = QemuCommand(spec);
  EXPECT_EQ(ValueOf(argv, "-accel"), "tcg");
  EXPECT_EQ(ValueOf(argv, "-cpu"), "max");
}

TEST(QemuCommand, SetsTheTcgTranslationCacheSizeWhenGiven) {
  VmSpec spec = Spec();
  spec.tcg_tb_size_mib = 32;
  EXPECT_EQ(ValueOf(QemuCommand(spec), "-accel"), "tcg,tb-size=32");
  spec.accel = Accel::kKvm;  // meaningless for KVM: left out
  EXPECT_EQ(ValueOf(QemuCommand(spec), "-accel"), "kvm");
}

TEST(QemuCommand, PassesMemoryAndVcpus) {
  VmSpec spec = Spec();
  EXPECT_EQ(ValueOf(QemuCommand(spec), "-m"), "256");
  EXPECT_EQ(ValueOf(QemuCommand(spec), "-smp"), "1");
  spec.memory_mib = 1024;
  spec.vcpus = 4;
  EXPECT_EQ(ValueOf(QemuCommand(spec), "-m"), "1024");
  EXPECT_EQ(ValueOf(QemuCommand(spec), "-smp"), "4");
}

TEST(QemuCommand, BootsTheGivenKernelAndInitramfs) {
  std::vector<std::string> argv = QemuCommand(Spec());
  EXPECT_EQ(ValueOf(argv, "-kernel"), "/cache/kernel-1/bzImage");
  EXPECT_EQ(ValueOf(argv, "-initrd"), "/cache/initramfs-2/initrd.cpio");
}

TEST(QemuCommand, KernelCommandLineCarriesConsolePortAndLogLevel) {
  VmSpec spec = Spec();
  spec.guest_port = 6000;
  spec.log_level = "debug";
  spec.extra_cmdline = "cloudlet.mode=poweroff";
  std::string cmdline = ValueOf(QemuCommand(spec), "-append");
  EXPECT_THAT(cmdline, HasSubstr("console=ttyS0"));
  EXPECT_THAT(cmdline, HasSubstr("reboot=t"));
  EXPECT_THAT(cmdline, HasSubstr("panic=-1"));
  EXPECT_THAT(cmdline, HasSubstr("cloudlet.port=6000"));
  EXPECT_THAT(cmdline, HasSubstr("cloudlet.log=debug"));
  EXPECT_TRUE(absl::EndsWith(cmdline, " cloudlet.mode=poweroff"));
  EXPECT_EQ(cmdline, KernelCommandLine(spec));
}

TEST(QemuCommand, ASingleVcpuTcgGuestSkipsTheApicTimerCalibration) {
  VmSpec spec = Spec();
  spec.accel = Accel::kTcg;
  spec.vcpus = 1;
  EXPECT_THAT(KernelCommandLine(spec), HasSubstr(" noapictimer"));
  // Several vCPUs need their local timers; KVM has a TSC-deadline timer.
  spec.vcpus = 2;
  EXPECT_THAT(KernelCommandLine(spec), Not(HasSubstr("noapictimer")));
  spec.vcpus = 1;
  spec.accel = Accel::kKvm;
  EXPECT_THAT(KernelCommandLine(spec), Not(HasSubstr("noapictimer")));
}

TEST(QemuCommand, TcgGuestsMapEveryProcessAtFixedAddresses) {
  VmSpec spec = Spec();
  spec.accel = Accel::kTcg;
  EXPECT_THAT(KernelCommandLine(spec), HasSubstr(" norandmaps"));
  spec.vcpus = 4;
  EXPECT_THAT(KernelCommandLine(spec), HasSubstr(" norandmaps"));
  // KVM runs guest code natively: nothing to reuse, so keep randomizing.
  spec.accel = Accel::kKvm;
  EXPECT_THAT(KernelCommandLine(spec), Not(HasSubstr("norandmaps")));
}

TEST(QemuCommand, AttachesTheImageReadOnlyAsVirtioBlk) {
  std::vector<std::string> argv = QemuCommand(Spec());
  EXPECT_EQ(ValueOf(argv, "-drive"),
            "id=root,file=/cache/image-python-3/image.sqfs,format=raw,"
            "if=none,readonly=on");
  EXPECT_EQ(ValueOf(argv, "-device"), "virtio-blk-device,drive=root");
}

TEST(QemuCommand, EscapesCommasInTheImagePath) {
  VmSpec spec = Spec();
  spec.image = "/tmp/a,b/image.sqfs";
  EXPECT_THAT(ValueOf(QemuCommand(spec), "-drive"),
              HasSubstr("file=/tmp/a,,b/image.sqfs,format=raw"));
}

TEST(QemuCommand, OmitsTheDriveWithoutImage) {
  VmSpec spec = Spec();
  spec.image.clear();
  EXPECT_THAT(QemuCommand(spec), Not(Contains("-drive")));
}

TEST(QemuCommand, ForwardsALoopbackPortToTheAgentOnARestrictedNetwork) {
  VmSpec spec = Spec();
  spec.guest_port = 5000;
  std::vector<std::string> argv = QemuCommand(spec);
  EXPECT_EQ(ValueOf(argv, "-netdev"),
            "user,id=n0,restrict=on,ipv6=off,"
            "hostfwd=tcp:127.0.0.1:41234-:5000");
  EXPECT_THAT(argv, Contains("virtio-net-device,netdev=n0"));
}

TEST(QemuCommand, LetsTheGuestReportFreedPagesSoTheyLeaveTheHostRss) {
  std::vector<std::string> argv = QemuCommand(Spec());
  EXPECT_THAT(argv, Contains("virtio-balloon-device,free-page-reporting=on"));
}

TEST(QemuCommand, BootsWithAnonymousRamAndNoQmpWithoutASnapshot) {
  std::vector<std::string> argv = QemuCommand(Spec());
  EXPECT_THAT(argv, Not(Contains("-object")));
  EXPECT_THAT(argv, Not(Contains("-qmp")));
  EXPECT_THAT(argv, Not(Contains("-incoming")));
}

TEST(QemuCommand, ASnapshotSourceWritesItsRamToTheSharedSnapshotFile) {
  VmSpec spec = Spec();
  spec.memory_mib = 512;
  spec.snapshot_role = SnapshotRole::kSource;
  spec.snapshot_dir = "/cache/snapshot-4";
  std::vector<std::string> argv = QemuCommand(spec);
  EXPECT_EQ(ValueOf(argv, "-object"),
            "memory-backend-file,id=ram,size=512M,"
            "mem-path=/cache/snapshot-4/ram,share=on");
  EXPECT_EQ(ValueOf(argv, "-machine"), "memory-backend=ram");
  EXPECT_EQ(ValueOf(argv, "-qmp"), "unix:qmp.sock,server=on,wait=off");
  EXPECT_THAT(argv, Not(Contains("-incoming")));
  EXPECT_THAT(argv,
              Not(Contains("virtio-balloon-device,free-page-reporting=on")));
}

TEST(QemuCommand, AResumedVmMapsTheSnapshotPrivatelyAndAwaitsItsState) {
  VmSpec spec = Spec();
  spec.snapshot_role = SnapshotRole::kResume;
  spec.snapshot_dir = "/cache/snapshot,4";
  std::vector<std::string> argv = QemuCommand(spec);
  EXPECT_EQ(ValueOf(argv, "-object"),
            "memory-backend-file,id=ram,size=256M,"
            "mem-path=/cache/snapshot,,4/ram,share=off");
  EXPECT_EQ(ValueOf(argv, "-incoming"), "defer");
  EXPECT_EQ(ValueOf(argv, "-global"), "migration.store-global-state=off");
  EXPECT_THAT(argv,
              Not(Contains("virtio-balloon-device,free-page-reporting=on")));
}

TEST(QemuCommand, AResumedVmHasTheSourcesDevicesButNoKernelToBoot) {
  VmSpec spec = Spec();
  spec.snapshot_dir = "/cache/snapshot-4";
  spec.snapshot_role = SnapshotRole::kSource;
  std::vector<std::string> source = QemuCommand(spec);
  spec.snapshot_role = SnapshotRole::kResume;
  std::vector<std::string> resumed = QemuCommand(spec);
  EXPECT_EQ(OptionValues(resumed, "-device"), OptionValues(source, "-device"));
  EXPECT_EQ(OptionValues(resumed, "-drive"), OptionValues(source, "-drive"));
  EXPECT_EQ(ValueOf(resumed, "-m"), ValueOf(source, "-m"));
  EXPECT_EQ(ValueOf(resumed, "-smp"), ValueOf(source, "-smp"));
  EXPECT_THAT(resumed, Not(Contains("-kernel")));
  EXPECT_THAT(resumed, Not(Contains("-initrd")));
  EXPECT_THAT(resumed, Not(Contains("-append")));
}

TEST(QemuCommand, DefaultsAreOneVcpuAnd256Mib) {
  VmSpec spec;
  EXPECT_EQ(spec.vcpus, 1u);
  EXPECT_EQ(spec.memory_mib, 256u);
}

TEST(Accel, NamesAreKvmAndTcg) {
  EXPECT_STREQ(AccelName(Accel::kKvm), "kvm");
  EXPECT_STREQ(AccelName(Accel::kTcg), "tcg");
}

}  // namespace
}  // namespace cloudlet::vmm
