// The guest reaches neither the host nor the network: QEMU's user network
// runs with restrict=on, and only the VMM's forward to the agent gets in.
// A workload probes the host's API port and a listener of this test
// (through the host alias 10.0.2.2, its IPv6 twin and the host's own
// address), QEMU's DNS at 10.0.2.3, an outside address and a DNS lookup.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/process/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;

// A dual-stack TCP listener on every address of the host that counts the
// connections it accepts, on a thread of its own.
class CountingListener {
 public:
  CountingListener() {
    fd_ = UniqueFd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int off = 0;
    ::setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_any;
    socklen_t length = sizeof(address);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length) ==
            0 &&
        ::listen(fd_.get(), 16) == 0 &&
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address),
                      &length) == 0) {
      port_ = ntohs(address.sin6_port);
    }
    thread_ = std::thread([this] { Loop(); });
  }
  ~CountingListener() {
    stop_ = true;
    thread_.join();
  }

  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd pfd{.fd = fd_.get(), .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      UniqueFd connection(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (connection) ++accepted_;
    }
  }

  UniqueFd fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// The host's first non-loopback IPv4 address, or "" when it has none.
std::string HostAddress() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* entry = list; entry != nullptr && found.empty();
       entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) {
      continue;
    }
    char text[INET_ADDRSTRLEN];
    auto* address = reinterpret_cast<sockaddr_in*>(entry->ifa_addr);
    if (ntohl(address->sin_addr.s_addr) >> 24 == 127) continue;
    if (::inet_ntop(AF_INET, &address->sin_addr, text, sizeof(text))) {
      found = text;
    }
  }
  ::freeifaddrs(list);
  return found;
}

TEST(GuestIsolationTest, GuestReachesNeitherTheHostNorTheNetwork) {
  absl::StatusOr<std::unique_ptr<HardenedChain>> chain =
      HardenedChain::Start({});
  ASSERT_TRUE(chain.ok()) << chain.status();
  CountingListener listener;
  ASSERT_GT(listener.port(), 0);
  std::string api_port = (*chain)->api_url().substr(
      (*chain)->api_url().rfind(':') + 1);
  std::string vmm_port = (*chain)->chain().vmm_address().substr(
      (*chain)->chain().vmm_address().rfind(':') + 1);
  std::string host = HostAddress();

  // probe NAME HOST PORT: a TCP connect; dns NAME SERVER: a DNS query over
  // UDP that waits for any answer. Each prints "NAME: connected" or
  // "NAME: failed".
  std::string script = absl::StrCat(R"sh(
probe() {
  if timeout 5 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; then
    echo "$1: connected"
  else
    echo "$1: failed"
  fi
}
dns() {
  query='\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01'
  if timeout 5 bash -c "exec 3<>/dev/udp/$2/53 && printf '$query' >&3 &&
      head -c 1 <&3 >/dev/null" 2>/dev/null; then
    echo "$1: connected"
  else
    echo "$1: failed"
  fi
}
probe control-agent-in-guest 127.0.0.1 5000
probe host-api 10.0.2.2 )sh", api_port, R"sh(
probe host-vmm 10.0.2.2 )sh", vmm_port, R"sh(
probe host-listener 10.0.2.2 )sh", listener.port(), R"sh(
probe host-listener-ipv6 fec0::2 )sh", listener.port(), R"sh(
)sh", host.empty() ? "" : absl::StrCat("probe host-address ", host, " ",
                                         listener.port(), "\n"),
                                    R"sh(
probe qemu-dns-tcp 10.0.2.3 53
probe outside 1.1.1.1 80
dns dns-qemu 10.0.2.3
dns dns-outside 1.1.1.1
if timeout 10 getent hosts example.com >/dev/null; then
  echo "dns-lookup-libc: connected"
else
  echo "dns-lookup-libc: failed"
fi
)sh");
  absl::StatusOr<StreamedRun> run =
      RunThroughApi((*chain)->api_url(),
                    MakeRun(v1::SHELL, script, absl::Seconds(90)),
                    absl::Seconds(180));
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->result.has_value()) << run->Summary();
  EXPECT_EQ(run->result->status(), v1::DONE) << run->Summary();
  std::cout << run->out;

  // The probe works: the guest's own agent answers.
  EXPECT_THAT(run->out, HasSubstr("control-agent-in-guest: connected\n"));
  int probes = 0;
  for (absl::string_view line : absl::StrSplit(run->out, '\n')) {
    if (line.empty() || absl::StartsWith(line, "control-")) continue;
    ++probes;
    EXPECT_TRUE(absl::EndsWith(line, ": failed")) << line;
  }
  EXPECT_EQ(probes, host.empty() ? 9 : 10) << run->out;
  EXPECT_EQ(listener.accepted(), 0) << "the guest reached the host";
}

}  // namespace
}  // namespace cloudlet::testing
