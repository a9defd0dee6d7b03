#include "common/rpc/net.h"

#include "absl/strings/numbers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/process/unique_fd.h"

namespace cloudlet {

absl::StatusOr<uint16_t> PickFreeLoopbackPort() {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) {
    return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return absl::InternalError(absl::StrCat("bind: ", std::strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) !=
      0) {
    return absl::InternalError(
        absl::StrCat("getsockname: ", std::strerror(errno)));
  }
  return ntohs(addr.sin_port);
}

bool SplitHostPort(absl::string_view text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  *host = std::string(text.substr(0, colon));
  return absl::SimpleAtoi(text.substr(colon + 1), port) && *port >= 0 &&
         *port <= 65535;
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         absl::StartsWith(host, "127.");
}

}  // namespace cloudlet
