#ifndef CLOUDLET_INITRAMFS_GUEST_INIT_NETWORK_H_
#define CLOUDLET_INITRAMFS_GUEST_INIT_NETWORK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cloudlet::guest_init {

// The static addresses of QEMU's user networking (slirp): the guest is
// 10.0.2.15/24 and reaches the outside (which `restrict=on` closes) through
// 10.0.2.2.
inline constexpr absl::string_view kGuestAddress = "10.0.2.15";
inline constexpr absl::string_view kGuestNetmask = "255.255.255.0";
inline constexpr absl::string_view kGatewayAddress = "10.0.2.2";

// Brings `lo` up. Internal naming the failed step.
absl::Status BringUpLoopback();

// Gives `interface` kGuestAddress/kGuestNetmask, brings it up and adds the
// default route through kGatewayAddress: what `ip addr add`, `ip link set
// up` and `ip route add default` do, through the socket ioctls, without a
// process per step. Internal naming the failed step.
absl::Status ConfigureUserNetworking(absl::string_view interface);

}  // namespace cloudlet::guest_init

#endif  // CLOUDLET_INITRAMFS_GUEST_INIT_NETWORK_H_
