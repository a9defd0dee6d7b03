#include "vmm/qemu/accel.h"

#include <fcntl.h>

#include "common/process/unique_fd.h"

namespace cloudlet::vmm {

const char* AccelName(Accel accel) {
  switch (accel) {
    case Accel::kKvm:
      return "kvm";
    case Accel::kTcg:
      return "tcg";
    case Accel::kHost:
      return "host";
  }
  return "?";
}

Accel DetectAccel() {
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  return kvm ? Accel::kKvm : Accel::kTcg;
}

}  // namespace cloudlet::vmm
