#include "tests/e2e/chain.h"

#include <signal.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sync/poll.h"

namespace cloudlet::testing {

absl::StatusOr<std::unique_ptr<Chain>> Chain::Start(const Options& options) {
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-e2e-");
  if (!dir.ok()) return dir.status();
  std::filesystem::path port_file = dir->path() / "vmm.port";
  SpawnOptions spawn;
  spawn.argv = {CLOUDLET_VMM_BINARY, "--listen=127.0.0.1:0",
                absl::StrCat("--port_file=", port_file.string()),
                absl::StrCat("--runtime_dir=", (dir->path() / "run").string()),
                // Each chain starts with no cached builds, whatever ran
                // before it.
                absl::StrCat("--build_cache_dir=",
                             (dir->path() / "builds").string()),
                // Teardown must not wait for a run to finish by itself.
                "--shutdown_grace=2s"};
  spawn.argv.insert(spawn.argv.end(), options.vmm_flags.begin(),
                    options.vmm_flags.end());
  spawn.stdout_mode = StdioMode::kInherit;
  spawn.stderr_mode = StdioMode::kInherit;
  absl::StatusOr<ChildProcess> vmm = ChildProcess::Spawn(spawn);
  if (!vmm.ok()) return vmm.status();
  int port = 0;
  absl::Status ready = PollUntil(
      "cloudlet-vmm to write its port file", absl::Now() + absl::Seconds(60),
      [&]() -> absl::StatusOr<bool> {
        if (vmm->HasExited()) {
          return absl::UnavailableError("cloudlet-vmm exited at start-up");
        }
        std::ifstream in(port_file);
        return static_cast<bool>(in >> port) && port > 0;
      },
      absl::Milliseconds(10), absl::Milliseconds(200));
  if (!ready.ok()) return ready;
  std::unique_ptr<Chain> chain(
      new Chain(*std::move(dir), *std::move(vmm), port));
  chain->api_flags_ = options.api_flags;
  // Each chain has a registry of its own, whatever ran before it.
  bool own_state_dir = false;
  for (const std::string& flag : options.api_flags) {
    own_state_dir |= absl::StartsWith(flag, "--state_dir=");
  }
  if (!own_state_dir) {
    chain->api_flags_.push_back(
        absl::StrCat("--state_dir=", chain->state_dir().string()));
  }
  if (absl::Status started = chain->RestartApi(); !started.ok()) {
    return started;
  }
  return chain;
}

absl::Status Chain::RestartApi() {
  api_.reset();
  absl::StatusOr<std::unique_ptr<ApiProcess>> api =
      ApiProcess::Start(CLOUDLET_API_BINARY, vmm_address(), api_flags_);
  if (!api.ok()) return api.status();
  api_ = *std::move(api);
  return absl::OkStatus();
}

std::filesystem::path Chain::state_dir() const {
  return dir_.path() / "api-state";
}

Chain::~Chain() {
  api_.reset();
  // A graceful stop kills the VMM's VMs; the destructor then reaps it (and
  // SIGKILLs its group if it hung).
  (void)vmm_.SignalGroup(SIGTERM);
  (void)vmm_.WaitFor(absl::Seconds(15));
}

std::string Chain::vmm_address() const {
  return absl::StrCat("127.0.0.1:", vmm_port_);
}

std::vector<std::string> CliEnvFor(const Chain& chain) {
  return {absl::StrCat("CLOUDLET_API_URL=", chain.api_url())};
}

}  // namespace cloudlet::testing
