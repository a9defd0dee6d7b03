#include "common/rpc/net.h"

#include "gtest/gtest.h"

namespace cloudlet {
namespace {

TEST(IsLoopbackHost, KnowsLoopbackFromTheRest) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.5", "example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(SplitHostPort, SplitsAtTheLastColonAndChecksThePort) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:3000", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 3000);
  ASSERT_TRUE(SplitHostPort("[::1]:0", &host, &port));
  EXPECT_EQ(host, "[::1]");
  EXPECT_EQ(port, 0);
  for (const char* bad : {"127.0.0.1", ":3000", "host:", "host:65536",
                          "host:-1", "host:http"}) {
    EXPECT_FALSE(SplitHostPort(bad, &host, &port)) << bad;
  }
}

TEST(PickFreeLoopbackPort, GivesAPortAboveZero) {
  absl::StatusOr<uint16_t> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_GT(*port, 0);
}

}  // namespace
}  // namespace cloudlet
