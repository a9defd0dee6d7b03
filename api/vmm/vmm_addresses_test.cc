#include "api/vmm/vmm_addresses.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::api {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;

TEST(ParseVmmTarget, AnIpv4ListIsEachAddressAsItsOwnTarget) {
  absl::StatusOr<VmmTargetParts> parts =
      ParseVmmTarget("ipv4:127.0.0.1:50061,127.0.0.1:50062");
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_TRUE(parts->host.empty());
  EXPECT_THAT(parts->addresses,
              ElementsAre(VmmAddress{"127.0.0.1:50061", "ipv4:127.0.0.1:50061"},
                          VmmAddress{"127.0.0.1:50062",
                                     "ipv4:127.0.0.1:50062"}));
}

TEST(ParseVmmTarget, ADnsTargetIsANameToLookUp) {
  for (const char* target :
       {"dns:///cloudlet-vmm.cloudlet.svc:50052",
        "dns://10.0.0.10/cloudlet-vmm.cloudlet.svc:50052",
        "cloudlet-vmm.cloudlet.svc:50052"}) {
    absl::StatusOr<VmmTargetParts> parts = ParseVmmTarget(target);
    ASSERT_TRUE(parts.ok()) << target << ": " << parts.status();
    EXPECT_EQ(parts->host, "cloudlet-vmm.cloudlet.svc") << target;
    EXPECT_EQ(parts->port, "50052") << target;
  }
}

TEST(ParseVmmTarget, ABracketedIpv6HostKeepsItsColons) {
  absl::StatusOr<VmmTargetParts> parts = ParseVmmTarget("[::1]:50051");
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->host, "::1");
  EXPECT_EQ(parts->port, "50051");
}

TEST(ParseVmmTarget, RefusesATargetWithoutAnAddress) {
  EXPECT_FALSE(ParseVmmTarget("ipv4:").ok());
  EXPECT_FALSE(ParseVmmTarget("dns:///").ok());
  EXPECT_FALSE(ParseVmmTarget("").ok());
}

TEST(ResolveVmmAddresses, ResolvesANameToEachOfItsAddresses) {
  absl::StatusOr<std::vector<VmmAddress>> addresses =
      ResolveVmmAddresses("dns:///localhost:50051");
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  EXPECT_THAT(*addresses,
              Contains(VmmAddress{"127.0.0.1:50051", "ipv4:127.0.0.1:50051"}));
}

TEST(ResolveVmmAddresses, AnUnknownNameIsUnavailable) {
  EXPECT_EQ(ResolveVmmAddresses("dns:///no-such-vmm.invalid:50051")
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cloudlet::api
