#ifndef CLOUDLET_INITRAMFS_GUEST_INIT_BOOT_PARAMS_H_
#define CLOUDLET_INITRAMFS_GUEST_INIT_BOOT_PARAMS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cloudlet::guest_init {

// What the VMM tells the guest's /init on the kernel command line
// (docs/guest.md, "/init (cmdline contract)").
struct BootParams {
  enum class Mode {
    kAgent,     // set up the root and the network, run the agent
    kPoweroff,  // reboot at once: the boot-time floor
  };
  Mode mode = Mode::kAgent;
  uint16_t port = 5000;            // cloudlet.port: the agent's TCP port
  std::string log_level = "info";  // cloudlet.log: the agent's --log_level
};

// Reads cloudlet.port=N (1..65535), cloudlet.log=LEVEL (a lower-case word)
// and cloudlet.mode=agent|poweroff from a kernel command line (the text of
// /proc/cmdline); every other word is ignored, and a later occurrence of a
// parameter wins, as for the kernel's own parameters. InvalidArgument,
// naming the parameter and its value, when a value is malformed. Pure.
absl::StatusOr<BootParams> ParseBootParams(absl::string_view cmdline);

}  // namespace cloudlet::guest_init

#endif  // CLOUDLET_INITRAMFS_GUEST_INIT_BOOT_PARAMS_H_
