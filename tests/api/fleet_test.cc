// One cloudlet-api over three real cloudlet-vmm processes (host agents for
// VMs: no QEMU), through one gRPC channel with round_robin and health
// checking: runs spread over every VMM, a VMM killed mid-run ends that run
// at once as "VMM lost" while the next runs go to the others, a restarted
// VMM gets runs again, a full VMM is skipped; and the API's bearer token.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/process/temp_dir.h"
#include "common/sync/poll.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/api_process.h"
#include "tests/api/http_client.h"
#include "tests/vmm/vmm_process.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;

class FleetTest : public ::testing::Test {
 protected:
  void StartFleet(int vmms, std::vector<std::string> vmm_flags = {}) {
    vmm_flags_ = std::move(vmm_flags);
    vmm_flags_.push_back("--vm_provider=host_agent");
    std::vector<std::string> addresses;
    for (int i = 0; i < vmms; ++i) {
      absl::StatusOr<std::unique_ptr<VmmProcess>> vmm =
          VmmProcess::Start(vmm_flags_);
      ASSERT_TRUE(vmm.ok()) << vmm.status();
      addresses.push_back(absl::StrCat("127.0.0.1:", (*vmm)->port()));
      vmms_.push_back(*std::move(vmm));
    }
    absl::StatusOr<std::unique_ptr<ApiProcess>> api = ApiProcess::Start(
        CLOUDLET_API_BINARY,
        absl::StrCat("ipv4:", absl::StrJoin(addresses, ",")));
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
  }

  absl::StatusOr<HttpResult> Run(const std::string& script,
                                 absl::Duration timeout = absl::Seconds(60)) {
    return HttpCall("POST", absl::StrCat(api_->url(), "/run"),
                    ShellRun(script), timeout);
  }

  uint64_t RunsAccepted(VmmProcess& vmm) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::VmmHealthResponse health;
    grpc::Status status =
        vmm.stub().Health(&context, v1::VmmHealthRequest(), &health);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return health.runs_accepted();
  }

  std::vector<std::string> vmm_flags_;
  std::vector<std::unique_ptr<VmmProcess>> vmms_;
  std::unique_ptr<ApiProcess> api_;
};

bool Succeeded(const absl::StatusOr<HttpResult>& run) {
  return run.ok() && run->status == 200 &&
         run->body.find("\"exit_code\":0") != std::string::npos;
}

TEST_F(FleetTest, ThirtyRunsAllSucceedAndEveryVmmServesSome) {
  StartFleet(3);
  std::atomic<int> succeeded{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (Succeeded(Run("echo ok\n"))) ++succeeded;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(succeeded.load(), 30);
  uint64_t total = 0;
  for (auto& vmm : vmms_) {
    uint64_t served = RunsAccepted(*vmm);
    EXPECT_GT(served, 0u) << "VMM pid " << vmm->pid() << " served no run";
    total += served;
  }
  EXPECT_EQ(total, 30u);
}

TEST_F(FleetTest, AVmmKilledMidRunEndsThatRunAsLostAndTheOthersTakeOver) {
  StartFleet(3);
  std::optional<absl::StatusOr<HttpResult>> long_run;
  std::thread client([&] { long_run = Run("echo started; sleep 30\n"); });
  // Find the VMM that took it, and kill it like a crash would.
  int victim = -1;
  ASSERT_TRUE(PollUntil("a VMM running the long run",
                        absl::Now() + absl::Seconds(20),
                        [&]() -> absl::StatusOr<bool> {
                          for (size_t i = 0; i < vmms_.size(); ++i) {
                            if (RunsAccepted(*vmms_[i]) > 0) {
                              victim = static_cast<int>(i);
                            }
                          }
                          return victim >= 0;
                        })
                  .ok());
  absl::Time killed = absl::Now();
  vmms_[victim]->KillNine();
  client.join();
  ASSERT_TRUE(long_run.has_value() && long_run->ok());
  EXPECT_THAT((*long_run)->body, HasSubstr("VMM lost"));
  EXPECT_LT(absl::Now() - killed, absl::Seconds(10)) << "the run hung";

  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(Succeeded(Run("echo after\n"))) << "run " << i;
  }

  // Back on the same port, it gets runs again.
  const int port = vmms_[victim]->port();
  ASSERT_TRUE(vmms_[victim]->WaitForExit(absl::Seconds(10)).ok());
  std::vector<std::string> flags = vmm_flags_;
  flags.push_back(absl::StrCat("--listen=127.0.0.1:", port));
  absl::StatusOr<std::unique_ptr<VmmProcess>> restarted =
      VmmProcess::Start(flags);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  vmms_[victim] = *std::move(restarted);
  ASSERT_TRUE(PollUntil("the restarted VMM getting runs",
                        absl::Now() + absl::Seconds(30),
                        [&]() -> absl::StatusOr<bool> {
                          EXPECT_TRUE(Succeeded(Run("echo again\n")));
                          return RunsAccepted(*vmms_[victim]) > 0;
                        })
                  .ok());
}

TEST_F(FleetTest, AFullVmmIsSkippedWhileAnotherHasRoom) {
  // One slot and no queue each: while one VMM runs the long run, every
  // other run must land on the other one.
  StartFleet(2, {"--max_vms=1", "--max_queue=0"});
  std::thread client([&] { (void)Run("sleep 8\n", absl::Seconds(30)); });
  ASSERT_TRUE(PollUntil("the long run accepted",
                        absl::Now() + absl::Seconds(20),
                        [&]() -> absl::StatusOr<bool> {
                          return RunsAccepted(*vmms_[0]) +
                                     RunsAccepted(*vmms_[1]) >
                                 0;
                        })
                  .ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Succeeded(Run("echo room\n"))) << "run " << i;
  }
  client.join();
}

TEST(ApiAuthTest, ATokenGuardsEveryRouteButHealthz) {
  absl::StatusOr<std::unique_ptr<VmmProcess>> vmm =
      VmmProcess::Start({"--vm_provider=host_agent"});
  ASSERT_TRUE(vmm.ok()) << vmm.status();
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-token-");
  ASSERT_TRUE(dir.ok());
  const std::string token = "s3cret-token-0123456789";
  std::ofstream(dir->path() / "token") << token << "\n";
  absl::StatusOr<std::unique_ptr<ApiProcess>> api = ApiProcess::Start(
      CLOUDLET_API_BINARY, absl::StrCat("127.0.0.1:", (*vmm)->port()),
      {absl::StrCat("--auth_token_file=", (dir->path() / "token").string())});
  ASSERT_TRUE(api.ok()) << api.status();
  const std::string url = (*api)->url();

  absl::StatusOr<HttpResult> health =
      HttpCall("GET", url + "/healthz", "", absl::Seconds(10));
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  for (const char* path : {"/functions", "/metrics"}) {
    absl::StatusOr<HttpResult> bare =
        HttpCall("GET", url + path, "", absl::Seconds(10));
    ASSERT_TRUE(bare.ok());
    EXPECT_EQ(bare->status, 401) << path;
    absl::StatusOr<HttpResult> wrong =
        HttpCall("GET", url + path, "", absl::Seconds(10), nullptr,
                 {"Authorization: Bearer not-the-token-at-all"});
    ASSERT_TRUE(wrong.ok());
    EXPECT_EQ(wrong->status, 401) << path;
  }
  absl::StatusOr<HttpResult> run =
      HttpCall("POST", url + "/run", ShellRun("echo authorized\n"),
               absl::Seconds(60), nullptr,
               {absl::StrCat("Authorization: Bearer ", token)});
  ASSERT_TRUE(run.ok());
  EXPECT_THAT(run->body, HasSubstr("\"exit_code\":0"));
}

TEST(ApiAuthTest, ANonLoopbackListenWithoutATokenRefusesToStart) {
  SpawnOptions options;
  options.argv = {CLOUDLET_API_BINARY, "--listen=0.0.0.0:0"};
  options.stderr_to_stdout = true;
  absl::StatusOr<CommandResult> api =
      RunCommand(options, absl::Seconds(20));
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_EQ(api->status.code, 2);
  EXPECT_THAT(api->output, HasSubstr("give --auth_token_file"));
}

}  // namespace
}  // namespace cloudlet::testing
