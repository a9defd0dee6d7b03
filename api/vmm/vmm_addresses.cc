#include "api/vmm/vmm_addresses.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cloudlet::api {
namespace {

// gRPC's port when a dns target names none.
constexpr char kDefaultGrpcPort[] = "443";

// "HOST:PORT", "[V6]:PORT" or "HOST" -> host and port (default when none).
void SplitHostPort(absl::string_view text, std::string* host,
                   std::string* port) {
  if (absl::StartsWith(text, "[")) {
    size_t close = text.find(']');
    if (close != absl::string_view::npos) {
      *host = std::string(text.substr(1, close - 1));
      absl::string_view rest = text.substr(close + 1);
      *port = absl::ConsumePrefix(&rest, ":") ? std::string(rest)
                                               : kDefaultGrpcPort;
      return;
    }
  }
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || text.find(':') != colon) {
    *host = std::string(text);  // no port, or a bare IPv6 address
    *port = kDefaultGrpcPort;
    return;
  }
  *host = std::string(text.substr(0, colon));
  *port = std::string(text.substr(colon + 1));
}

std::string Display(absl::string_view host, absl::string_view port) {
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]:", port)
                                      : absl::StrCat(host, ":", port);
}

}  // namespace

absl::StatusOr<VmmTargetParts> ParseVmmTarget(absl::string_view target) {
  VmmTargetParts parts;
  absl::string_view rest = target;
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (!absl::ConsumePrefix(&rest, scheme)) continue;
    for (absl::string_view address :
         absl::StrSplit(rest, ',', absl::SkipEmpty())) {
      parts.addresses.push_back(
          {std::string(address), absl::StrCat(scheme, address)});
    }
    if (parts.addresses.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("VMM target \"", target, "\" lists no address"));
    }
    return parts;
  }
  if (absl::StartsWith(rest, "unix:") ||
      absl::StartsWith(rest, "unix-abstract:")) {
    parts.addresses.push_back({std::string(rest), std::string(rest)});
    return parts;
  }
  if (absl::ConsumePrefix(&rest, "dns:")) {
    // dns:NAME, dns:///NAME or dns://AUTHORITY/NAME.
    if (absl::ConsumePrefix(&rest, "//")) {
      size_t slash = rest.find('/');
      rest = slash == absl::string_view::npos ? absl::string_view()
                                               : rest.substr(slash + 1);
    }
  }
  SplitHostPort(rest, &parts.host, &parts.port);
  if (parts.host.empty() || parts.port.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "VMM target \"", target,
        "\" names no host; expected HOST:PORT, ipv4:HOST:PORT,HOST:PORT or "
        "dns:///NAME:PORT"));
  }
  return parts;
}

absl::StatusOr<std::vector<VmmAddress>> ResolveVmmAddresses(
    absl::string_view target) {
  absl::StatusOr<VmmTargetParts> parts = ParseVmmTarget(target);
  if (!parts.ok()) return parts.status();
  if (parts->host.empty()) return parts->addresses;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int error = getaddrinfo(parts->host.c_str(), parts->port.c_str(), &hints,
                          &found);
  if (error != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot resolve the VMM host ", parts->host, ": ",
        gai_strerror(error)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found,
                                                           &freeaddrinfo);
  std::vector<VmmAddress> addresses;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw =
        ai->ai_family == AF_INET6
            ? static_cast<const void*>(
                  &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)
                       ->sin6_addr)
            : static_cast<const void*>(
                  &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)
                       ->sin_addr);
    if (inet_ntop(ai->ai_family, raw, text, sizeof(text)) == nullptr) continue;
    std::string display = Display(text, parts->port);
    VmmAddress address{
        display, absl::StrCat(ai->ai_family == AF_INET6 ? "ipv6:" : "ipv4:",
                              display)};
    bool seen = false;
    for (const VmmAddress& other : addresses) seen |= other == address;
    if (!seen) addresses.push_back(std::move(address));
  }
  return addresses;
}

}  // namespace cloudlet::api
