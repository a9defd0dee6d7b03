// main() for test binaries that start VMs: GoogleTest plus the check that
// no VM process (QEMU, or a host agent) outlives its test (tests/support/no_vm_left.h).
#include "gtest/gtest.h"
#include "tests/support/no_vm_left.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  cloudlet::testing::InstallNoVmLeftCheck();
  return RUN_ALL_TESTS();
}
