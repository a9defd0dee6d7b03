#include "initramfs/guest_init/network.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/process/unique_fd.h"
#include "initramfs/guest_init/errno_error.h"

namespace cloudlet::guest_init {
namespace {

absl::StatusOr<UniqueFd> ControlSocket() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("cannot open a socket to configure the network");
  return fd;
}

// An ifreq naming `interface`; InvalidArgument when the name is too long.
absl::StatusOr<ifreq> InterfaceRequest(absl::string_view interface) {
  ifreq request{};
  if (interface.empty() || interface.size() >= sizeof(request.ifr_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad interface name '", interface, "'"));
  }
  interface.copy(request.ifr_name, interface.size());
  return request;
}

sockaddr IPv4SocketAddress(absl::string_view dotted) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, std::string(dotted).c_str(), &address.sin_addr);
  sockaddr generic;
  static_assert(sizeof(generic) == sizeof(address));
  std::memcpy(&generic, &address, sizeof(generic));
  return generic;
}

absl::Status SetUp(int socket, absl::string_view interface) {
  absl::StatusOr<ifreq> request = InterfaceRequest(interface);
  if (!request.ok()) return request.status();
  if (::ioctl(socket, SIOCGIFFLAGS, &*request) != 0) {
    return ErrnoError(absl::StrCat("cannot read the flags of ", interface));
  }
  request->ifr_flags |= IFF_UP;
  if (::ioctl(socket, SIOCSIFFLAGS, &*request) != 0) {
    return ErrnoError(absl::StrCat("cannot bring up ", interface));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BringUpLoopback() {
  absl::StatusOr<UniqueFd> control = ControlSocket();
  if (!control.ok()) return control.status();
  return SetUp(control->get(), "lo");
}

absl::Status ConfigureUserNetworking(absl::string_view interface) {
  absl::StatusOr<UniqueFd> control = ControlSocket();
  if (!control.ok()) return control.status();
  absl::StatusOr<ifreq> request = InterfaceRequest(interface);
  if (!request.ok()) return request.status();

  request->ifr_addr = IPv4SocketAddress(kGuestAddress);
  if (::ioctl(control->get(), SIOCSIFADDR, &*request) != 0) {
    return ErrnoError(absl::StrCat("cannot set the address of ", interface));
  }
  request->ifr_netmask = IPv4SocketAddress(kGuestNetmask);
  if (::ioctl(control->get(), SIOCSIFNETMASK, &*request) != 0) {
    return ErrnoError(absl::StrCat("cannot set the netmask of ", interface));
  }
  if (absl::Status up = SetUp(control->get(), interface); !up.ok()) return up;

  std::string device(interface);
  rtentry route{};
  route.rt_dst = IPv4SocketAddress("0.0.0.0");
  route.rt_genmask = IPv4SocketAddress("0.0.0.0");
  route.rt_gateway = IPv4SocketAddress(kGatewayAddress);
  route.rt_flags = RTF_UP | RTF_GATEWAY;
  route.rt_dev = device.data();
  if (::ioctl(control->get(), SIOCADDRT, &route) != 0) {
    return ErrnoError("cannot add the default route");
  }
  return absl::OkStatus();
}

}  // namespace cloudlet::guest_init
