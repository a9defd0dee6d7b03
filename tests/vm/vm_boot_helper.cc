// Test helper: starts a VM from KERNEL and INITRAMFS with its files under
// RUNTIME_DIR, prints "qemu_pid=N" once QEMU runs, then waits to be killed.
// The test kills this process mid-boot and checks that QEMU dies with it;
// the VM's directory, which a SIGKILLed owner cannot remove, is inside
// RUNTIME_DIR, which the test owns.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "vmm/qemu/qemu_process.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s KERNEL INITRAMFS RUNTIME_DIR\n", argv[0]);
    return 2;
  }
  cloudlet::vmm::VmSpec spec;
  spec.kernel = argv[1];
  spec.initramfs = argv[2];
  auto vm = cloudlet::vmm::QemuProcess::Start(spec, argv[3]);
  if (!vm.ok()) {
    std::fprintf(stderr, "%s\n", std::string(vm.status().message()).c_str());
    return 1;
  }
  std::printf("qemu_pid=%d\n", (*vm)->pid());
  std::fflush(stdout);
  while (true) ::pause();
}
