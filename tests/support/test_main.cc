// main() for test binaries that start VMs: GoogleTest plus the check that
// no qemu process outlives its test (tests/support/no_qemu_left.h).
#include "gtest/gtest.h"
#include "tests/support/no_qemu_left.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  cloudlet::testing::InstallNoQemuLeftCheck();
  return RUN_ALL_TESTS();
}
