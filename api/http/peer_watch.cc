#include "api/http/peer_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cloudlet::api {
namespace {

struct Endpoint {
  std::string addr;
  int port = -1;
};

// Numeric address and port of a socket address; IPv4-mapped IPv6 addresses
// come out as plain IPv4, as getnameinfo(NI_NUMERICHOST) would not do but
// is what a listener on 127.0.0.1 sees anyway.
bool ToEndpoint(const sockaddr_storage& ss, Endpoint* out) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    if (inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text)) == nullptr) {
      return false;
    }
    out->port = ntohs(in.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      if (inet_ntop(AF_INET, &in6.sin6_addr.s6_addr[12], text,
                    sizeof(text)) == nullptr) {
        return false;
      }
    } else if (inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text)) ==
               nullptr) {
      return false;
    }
    out->port = ntohs(in6.sin6_port);
  } else {
    return false;
  }
  out->addr = text;
  return true;
}

bool Matches(int fd, const Endpoint& local, const Endpoint& remote) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  Endpoint got;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      !ToEndpoint(ss, &got) || got.port != local.port ||
      got.addr != local.addr) {
    return false;
  }
  len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      !ToEndpoint(ss, &got)) {
    return false;
  }
  return got.port == remote.port && got.addr == remote.addr;
}

}  // namespace

absl::StatusOr<PeerWatch> PeerWatch::Find(const std::string& local_addr,
                                          int local_port,
                                          const std::string& remote_addr,
                                          int remote_port) {
  Endpoint local{local_addr, local_port};
  Endpoint remote{remote_addr, remote_port};
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc/self/fd"),
                                          &::closedir);
  if (dir == nullptr) {
    return absl::NotFoundError("cannot list /proc/self/fd");
  }
  while (dirent* entry = ::readdir(dir.get())) {
    int fd;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == ::dirfd(dir.get())) {
      continue;
    }
    if (Matches(fd, local, remote)) return PeerWatch(fd);
  }
  return absl::NotFoundError(absl::StrCat("no socket for ", remote_addr, ":",
                                          remote_port, " -> ", local_addr, ":",
                                          local_port));
}

bool PeerWatch::PeerGone() const {
  pollfd pfd{.fd = fd_, .events = POLLRDHUP, .revents = 0};
  if (::poll(&pfd, 1, 0) <= 0) return false;
  return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace cloudlet::api
