#include "agent/service/agent_server.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

TEST(GrpcListenAddress, AcceptsHostAndPort) {
  EXPECT_EQ(*GrpcListenAddress("0.0.0.0:5000"), "0.0.0.0:5000");
  EXPECT_EQ(*GrpcListenAddress("127.0.0.1:0"), "127.0.0.1:0");
  EXPECT_EQ(*GrpcListenAddress("[::1]:7"), "[::1]:7");
  EXPECT_EQ(*GrpcListenAddress("localhost:50051"), "localhost:50051");
}

TEST(GrpcListenAddress, RejectsMalformedAddresses) {
  for (const char* bad : {"5000", ":5000", "host:", "host:70000", "host:-1",
                          "host:12a", "::1:5000"}) {
    EXPECT_EQ(GrpcListenAddress(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(GrpcListenAddress, VsockIsReservedButNotYetImplemented) {
  EXPECT_EQ(GrpcListenAddress("vsock:5000").status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(AgentServer, FailsToStartOnAnAddressInUse) {
  AgentServerOptions options;
  options.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<AgentServer>> first =
      AgentServer::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  options.listen = absl::StrCat("127.0.0.1:", (*first)->port());
  absl::StatusOr<std::unique_ptr<AgentServer>> second =
      AgentServer::Start(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cloudlet::agent
