#include "tests/vmm/vmm_process.h"

#include <signal.h>

#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sync/poll.h"

namespace cloudlet::testing {

absl::StatusOr<std::unique_ptr<VmmProcess>> VmmProcess::Start(
    const std::vector<std::string>& flags,
    std::filesystem::path runtime_dir, const TlsClientFiles& tls) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(tls);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<TempDir> work = TempDir::Create("vmm-test-");
  if (!work.ok()) return work.status();
  if (runtime_dir.empty()) runtime_dir = work->path() / "runtime";
  std::filesystem::path port_file = work->path() / "port";

  SpawnOptions options;
  options.argv = {CLOUDLET_VMM_BINARY, "--listen=127.0.0.1:0",
                  absl::StrCat("--port_file=", port_file.string()),
                  absl::StrCat("--runtime_dir=", runtime_dir.string()),
                  // No builds cached by earlier tests.
                  absl::StrCat("--build_cache_dir=",
                               (work->path() / "builds").string()),
                  "--log_level=info"};
  options.argv.insert(options.argv.end(), flags.begin(), flags.end());
  options.stdout_mode = StdioMode::kInherit;
  options.stderr_mode = StdioMode::kInherit;
  absl::StatusOr<ChildProcess> process = ChildProcess::Spawn(options);
  if (!process.ok()) return process.status();

  int port = 0;
  absl::Status started = PollUntil(
      "cloudlet-vmm's port file", absl::Now() + absl::Seconds(30),
      [&]() -> absl::StatusOr<bool> {
        if (process->HasExited()) {
          return absl::InternalError("cloudlet-vmm exited at start");
        }
        std::ifstream in(port_file);
        return static_cast<bool>(in >> port);
      });
  if (!started.ok()) return started;

  grpc::ChannelArguments args;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  std::unique_ptr<VmmProcess> vmm(new VmmProcess(
      *std::move(process), *std::move(work), runtime_dir, port,
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                *credentials, args)));
  absl::Status ready = PollUntil(
      "cloudlet-vmm's Health", absl::Now() + absl::Seconds(30),
      [&]() -> absl::StatusOr<bool> {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
        v1::VmmHealthResponse health;
        grpc::Status status =
            vmm->stub().Health(&context, v1::VmmHealthRequest(), &health);
        return status.ok() && health.ready();
      });
  if (!ready.ok()) return ready;
  return vmm;
}

VmmProcess::VmmProcess(ChildProcess process, std::optional<TempDir> owned_dir,
                       std::filesystem::path runtime_dir, int port,
                       std::shared_ptr<grpc::Channel> channel)
    : process_(std::move(process)),
      owned_dir_(std::move(owned_dir)),
      runtime_dir_(std::move(runtime_dir)),
      port_(port),
      channel_(std::move(channel)),
      stub_(v1::VmmService::NewStub(channel_)) {}

VmmProcess::~VmmProcess() { process_.Kill(); }

void VmmProcess::KillNine() { ::kill(process_.pid(), SIGKILL); }

}  // namespace cloudlet::testing
