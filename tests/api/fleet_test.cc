// One cloudlet-api over three real cloudlet-vmm processes (host agents for
// VMs: no QEMU), through one gRPC channel with round_robin and health
// checking: runs spread over every VMM, a VMM killed mid-run ends that run
// at once as "VMM lost" while the next runs go to the others, a restarted
// VMM gets runs again, a full VMM is skipped; and the API's bearer token.
#include <signal.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/rpc/tls.h"
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

TEST_F(FleetTest, HealthzAndMetricsShowEachVmmUnderItsAddress) {
  StartFleet(3, {"--max_vms=2"});
  const std::string down = absl::StrCat("127.0.0.1:", vmms_[1]->port());
  vmms_[1]->KillNine();
  ASSERT_TRUE(vmms_[1]->WaitForExit(absl::Seconds(10)).ok());

  absl::StatusOr<HttpResult> health =
      HttpCall("GET", api_->url() + "/healthz", "", absl::Seconds(10));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200) << "two of three VMMs take runs";
  google::protobuf::Struct body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(health->body, &body)
                  .ok());
  EXPECT_EQ(body.fields().at("api").struct_value().fields().at("vmms_ready")
                .number_value(),
            2);
  const auto& vmms = body.fields().at("vmms").list_value().values();
  ASSERT_EQ(vmms.size(), 3) << health->body;
  for (const auto& vmm : vmms) {
    const auto& fields = vmm.struct_value().fields();
    const bool is_down = fields.at("address").string_value() == down;
    EXPECT_EQ(fields.at("reachable").bool_value(), !is_down) << health->body;
    if (!is_down) {
      EXPECT_EQ(fields.at("max_vms").number_value(), 2);
    }
  }

  absl::StatusOr<HttpResult> metrics =
      HttpCall("GET", api_->url() + "/metrics", "", absl::Seconds(10));
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(metrics->body, HasSubstr("cloudlet_vmms_ready 2\n"));
  EXPECT_THAT(metrics->body,
              HasSubstr(absl::StrCat("cloudlet_vmm_up{vmm=\"", down, "\"} 0")));
  for (int i : {0, 2}) {
    const std::string up = absl::StrCat("127.0.0.1:", vmms_[i]->port());
    EXPECT_THAT(metrics->body,
                HasSubstr(absl::StrCat("cloudlet_vmm_up{vmm=\"", up, "\"} 1")));
    EXPECT_THAT(metrics->body, HasSubstr(absl::StrCat(
                                   "cloudlet_vm_slots{vmm=\"", up, "\"} 2")));
  }
}

// A CA, a VMM certificate for the name "cloudlet-vmm", an API client
// certificate from the same CA, and one from a CA the VMMs do not trust.
absl::Status MakeCertificates(const std::filesystem::path& dir) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-ec", R"(
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
    ca() { key "$1.key"; openssl req -x509 -new -key "$1.key" -days 2 -subj "/CN=$1" -out "$1.pem"; }
    cert() {  # NAME CA [EXTENSIONS]
      key "$1.key"
      openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
      printf '%s
' "${3:-basicConstraints=CA:FALSE}" > "$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key"         -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem"
    }
    ca ca; ca stranger-ca
    cert vmm ca "subjectAltName=DNS:cloudlet-vmm"
    cert api ca
    cert stranger stranger-ca
  )"};
  options.cwd = dir;
  options.stderr_to_stdout = true;
  absl::StatusOr<CommandResult> made = RunCommand(options, absl::Seconds(60));
  if (!made.ok()) return made.status();
  if (made->status.code != 0) {
    return absl::InternalError(absl::StrCat("openssl: ", made->output));
  }
  return absl::OkStatus();
}

TEST(VmmTlsTest, TheApiRunsOnVmmsOverMutualTlsAndOnlyWithATrustedCertificate) {
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-tls-");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(MakeCertificates(dir->path()).ok());
  auto file = [&](const char* name) { return (dir->path() / name).string(); };
  TlsClientFiles api_tls;
  api_tls.ca_file = file("ca.pem");
  api_tls.cert_file = file("api.pem");
  api_tls.key_file = file("api.key");
  api_tls.server_name = "cloudlet-vmm";
  std::vector<std::unique_ptr<VmmProcess>> vmms;
  std::vector<std::string> addresses;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<VmmProcess>> vmm = VmmProcess::Start(
        {"--vm_provider=host_agent",
         absl::StrCat("--tls_cert_file=", file("vmm.pem")),
         absl::StrCat("--tls_key_file=", file("vmm.key")),
         absl::StrCat("--tls_client_ca_file=", file("ca.pem"))},
        {}, api_tls);
    ASSERT_TRUE(vmm.ok()) << vmm.status();
    addresses.push_back(absl::StrCat("127.0.0.1:", (*vmm)->port()));
    vmms.push_back(*std::move(vmm));
  }
  const std::string target = absl::StrCat("ipv4:", absl::StrJoin(addresses, ","));
  auto api_with = [&](std::vector<std::string> flags) {
    absl::StatusOr<std::unique_ptr<ApiProcess>> api =
        ApiProcess::Start(CLOUDLET_API_BINARY, target, flags);
    EXPECT_TRUE(api.ok()) << api.status();
    return api.ok() ? *std::move(api) : nullptr;
  };
  auto run = [](ApiProcess& api) {
    return HttpCall("POST", api.url() + "/run", ShellRun("echo over tls\n"),
                    absl::Seconds(60));
  };

  std::unique_ptr<ApiProcess> trusted = api_with(
      {absl::StrCat("--vmm_tls_ca_file=", file("ca.pem")),
       absl::StrCat("--vmm_tls_cert_file=", file("api.pem")),
       absl::StrCat("--vmm_tls_key_file=", file("api.key")),
       "--vmm_tls_server_name=cloudlet-vmm"});
  ASSERT_NE(trusted, nullptr);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(Succeeded(run(*trusted))) << i;
  absl::StatusOr<HttpResult> health =
      HttpCall("GET", trusted->url() + "/healthz", "", absl::Seconds(10));
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200) << health->body;

  // A certificate from another CA, no certificate, or plaintext: refused
  // by the VMMs' handshake, so no run starts (503), and quickly.
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {absl::StrCat("--vmm_tls_ca_file=", file("ca.pem")),
            absl::StrCat("--vmm_tls_cert_file=", file("stranger.pem")),
            absl::StrCat("--vmm_tls_key_file=", file("stranger.key")),
            "--vmm_tls_server_name=cloudlet-vmm"},
           {absl::StrCat("--vmm_tls_ca_file=", file("ca.pem")),
            "--vmm_tls_server_name=cloudlet-vmm"},
           {}}) {
    std::unique_ptr<ApiProcess> refused = api_with(flags);
    ASSERT_NE(refused, nullptr);
    absl::Time start = absl::Now();
    absl::StatusOr<HttpResult> attempt = run(*refused);
    ASSERT_TRUE(attempt.ok()) << attempt.status();
    EXPECT_EQ(attempt->status, 503) << absl::StrJoin(flags, " ") << "\n"
                                    << attempt->body;
    EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  }
  for (auto& vmm : vmms) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::VmmHealthResponse answer;
    ASSERT_TRUE(
        vmm->stub().Health(&context, v1::VmmHealthRequest(), &answer).ok());
    EXPECT_GT(answer.runs_accepted(), 0u) << "both VMMs serve over TLS";
    EXPECT_LE(answer.runs_accepted(), 4u);
  }
}

TEST(VmmTlsTest, ANonLoopbackPlaintextListenRefusesToStart) {
  SpawnOptions options;
  options.argv = {CLOUDLET_VMM_BINARY, "--listen=0.0.0.0:0",
                  "--vm_provider=host_agent"};
  options.stderr_to_stdout = true;
  absl::StatusOr<CommandResult> vmm = RunCommand(options, absl::Seconds(20));
  ASSERT_TRUE(vmm.ok()) << vmm.status();
  EXPECT_EQ(vmm->status.code, 2);
  EXPECT_THAT(vmm->output, HasSubstr("--allow_plaintext"));
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
