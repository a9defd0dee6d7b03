#include "initramfs/guest_init/boot_params.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::guest_init {
namespace {

using ::testing::HasSubstr;

TEST(ParseBootParams, DefaultsWhenTheCommandLineSaysNothing) {
  absl::StatusOr<BootParams> params =
      ParseBootParams("console=ttyS0 reboot=t panic=-1 quiet\n");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->mode, BootParams::Mode::kAgent);
  EXPECT_EQ(params->port, 5000);
  EXPECT_EQ(params->log_level, "info");
}

TEST(ParseBootParams, ReadsPortLogLevelAndMode) {
  absl::StatusOr<BootParams> params = ParseBootParams(
      "quiet cloudlet.port=6001 cloudlet.log=debug cloudlet.mode=poweroff "
      "virtio_mmio.device=512@0xfeb00e00:12");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->mode, BootParams::Mode::kPoweroff);
  EXPECT_EQ(params->port, 6001);
  EXPECT_EQ(params->log_level, "debug");
}

TEST(ParseBootParams, ALaterValueWinsAsForKernelParameters) {
  absl::StatusOr<BootParams> params =
      ParseBootParams("cloudlet.port=1 cloudlet.port=65535");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->port, 65535);
}

TEST(ParseBootParams, RejectsPortsOutsideOneTo65535NamingTheValue) {
  for (const char* bad :
       {"0", "65536", "", "-1", "+80", "080000", "12a", " 80", "99999999999"}) {
    absl::StatusOr<BootParams> params =
        ParseBootParams(std::string("cloudlet.port=") + bad);
    ASSERT_FALSE(params.ok()) << bad;
    EXPECT_EQ(params.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(params.status().message(),
                HasSubstr("cloudlet.port must be in 1..65535"));
  }
}

TEST(ParseBootParams, RejectsALogLevelThatIsNotALowerCaseWord) {
  for (const char* bad : {"", "DEBUG", "de-bug", "info;reboot"}) {
    absl::StatusOr<BootParams> params =
        ParseBootParams(std::string("cloudlet.log=") + bad);
    ASSERT_FALSE(params.ok()) << bad;
    EXPECT_THAT(params.status().message(),
                HasSubstr("cloudlet.log must be a lower-case word"));
  }
}

TEST(ParseBootParams, RejectsAnUnknownModeNamingIt) {
  absl::StatusOr<BootParams> params = ParseBootParams("cloudlet.mode=shell");
  ASSERT_FALSE(params.ok());
  EXPECT_EQ(params.status().message(),
            "cloudlet.mode must be agent or poweroff, got 'shell'");
}

TEST(ParseBootParams, IgnoresOtherParametersThatStartTheSame) {
  absl::StatusOr<BootParams> params =
      ParseBootParams("cloudlet.portable=no cloudlet.port cloudlet.logx=1");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->port, 5000);
}

}  // namespace
}  // namespace cloudlet::guest_init
