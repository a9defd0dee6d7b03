#include "vmm/vm/host_agent_provider.h"

#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/sync/poll.h"
#include "common/process/subprocess.h"
#include "spdlog/spdlog.h"
#include "vmm/vm/runtime_state.h"
#include "common/last_lines.h"
#include "common/run_limits.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;

constexpr char kPortFile[] = "agent.port";
constexpr char kLogFile[] = "agent.log";

// The last `count` lines of the agent's log, its "console".
std::string LogTail(const fs::path& file, size_t count) {
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  std::string tail = LastLines(text, count);
  return tail.empty() ? tail : absl::StrCat(tail, "\n");
}

// An agent process on the host standing in for a VM. Member order is
// teardown order: the client, then the process (killed and reaped), then
// its state dir.
class HostAgentVm : public Vm {
 public:
  HostAgentVm(VmStateDir state, ChildProcess process, const std::string& target)
      : state_(std::move(state)),
        process_(std::move(process)),
        agent_(target) {}
  AgentClient& agent() override { return agent_; }
  Accel accel() const override { return Accel::kHost; }
  bool Exited() const override { return process_.HasExited(); }
  std::string ConsoleTail(size_t max_lines) const override {
    return LogTail(state_.path() / kLogFile, max_lines);
  }
  ChildProcess& process() { return process_; }

 private:
  VmStateDir state_;
  ChildProcess process_;
  AgentClient agent_;
};

}  // namespace

HostAgentProvider::HostAgentProvider(HostAgentProviderOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Vm>> HostAgentProvider::Acquire(
    const VmRequest& request, const CancelToken& cancel,
    std::string* console_tail) {
  absl::StatusOr<VmStateDir> state =
      VmStateDir::Create(options_.runtime_dir, request.run_id);
  if (!state.ok()) return state.status();
  const fs::path dir = state->path();
  std::error_code error;
  fs::create_directories(dir / "work", error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", dir.string(),
                                            "/work: ", error.message()));
  }
  SpawnOptions spawn;
  spawn.argv = {options_.agent_binary.string(), "--listen=127.0.0.1:0",
                absl::StrCat("--port_file=", (dir / kPortFile).string()),
                absl::StrCat("--work_root=", (dir / "work").string()),
                absl::StrCat("--log_level=", options_.log_level)};
  spawn.stdout_mode = StdioMode::kFile;
  spawn.stderr_mode = StdioMode::kFile;
  spawn.output_file = dir / kLogFile;
  absl::StatusOr<ChildProcess> process = ChildProcess::Spawn(spawn);
  if (!process.ok()) return process.status();
  if (absl::Status recorded = state->RecordVmProcess(process->pid());
      !recorded.ok()) {
    return recorded;
  }
  {
    absl::MutexLock lock(&mu_);
    agent_pids_.push_back(process->pid());
  }
  int port = 0;
  absl::Status listening = PollUntil(
      "the host agent's port file", request.ready_by,
      [&]() -> absl::StatusOr<bool> {
        if (cancel.cancelled()) {
          return absl::CancelledError("cancelled while the agent started");
        }
        if (process->HasExited()) {
          return absl::UnavailableError(
              "the host agent exited before it served");
        }
        std::ifstream in(dir / kPortFile);
        return static_cast<bool>(in >> port);
      });
  if (!listening.ok()) {
    if (console_tail != nullptr) {
      *console_tail = LogTail(dir / kLogFile, kConsoleTailLines);
    }
    return listening;
  }
  auto vm = std::make_unique<HostAgentVm>(*std::move(state),
                                          *std::move(process),
                                          absl::StrCat("127.0.0.1:", port));
  absl::Status healthy = vm->agent().WaitUntilHealthy(
      request.ready_by, CancelToken::FromProbe([&] {
        return cancel.cancelled() || vm->Exited();
      }));
  if (!healthy.ok()) {
    if (console_tail != nullptr) *console_tail = vm->ConsoleTail(kConsoleTailLines);
    if (cancel.cancelled()) {
      return absl::CancelledError("cancelled while the agent started");
    }
    return healthy;
  }
  spdlog::debug("run={} event=host_agent_ready pid={} port={}", request.run_id,
                vm->process().pid(), port);
  return vm;
}

std::vector<pid_t> HostAgentProvider::agent_pids() const {
  absl::MutexLock lock(&mu_);
  return agent_pids_;
}

absl::StatusOr<GuestArtifacts> NoGuestArtifacts::Ensure(
    const Runtime& runtime, const ProgressCallback& progress,
    const CancelToken& cancel) {
  if (!runtime.packages.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this VMM runs host agents, which cannot add Debian packages (",
        absl::StrJoin(runtime.packages, ", "), "); run it with VMs"));
  }
  if (progress) {
    v1::Progress step;
    step.set_artifact("host-agent");
    step.set_message("no guest artifacts: runs use host agents");
    step.set_cached(true);
    progress(step);
  }
  GuestArtifacts artifacts;
  artifacts.runtime_key = runtime_key_;
  return artifacts;
}

absl::StatusOr<fs::path> NoGuestArtifacts::EnsureArtifact(
    absl::string_view name, const ProgressCallback& progress,
    const CancelToken& cancel) {
  return absl::FailedPreconditionError(absl::StrCat(
      "no artifact '", name, "': this VMM runs host agents, not VMs"));
}

}  // namespace cloudlet::vmm
