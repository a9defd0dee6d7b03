// cloudlet-agent: runs workloads for the VMM, inside the guest (or on a
// host, for tests). Flags -> AgentServer -> wait for SIGTERM -> shutdown.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "agent/service/agent_server.h"
#include "agent/guest/clock_offset.h"
#include "common/flags.h"
#include "common/guest_console.h"
#include "common/logging.h"
#include "common/sync/mutex_checks.h"
#include "common/rpc/port_file.h"
#include "common/process/termination_signal.h"
#include "spdlog/spdlog.h"
#include "common/run_limits.h"

extern char** environ;

ABSL_FLAG(std::string, listen, "127.0.0.1:5000",
          "HOST:PORT to serve gRPC on (port 0 picks a free one)");
ABSL_FLAG(std::string, port_file, "",
          "if set, the bound port is written to this file once serving");
ABSL_FLAG(std::string, log_level, "info",
          "trace, debug, info, warn, error or off");
ABSL_FLAG(std::string, work_root, "",
          "directory for the runs' private work dirs (default $TMPDIR or "
          "/tmp)");
ABSL_FLAG(absl::Duration, default_timeout, absl::Minutes(5),
          "wall-clock limit of a run that sets none");
ABSL_FLAG(absl::Duration, max_timeout, absl::Minutes(30),
          "the longest timeout a run may ask for");
ABSL_FLAG(uint64_t, output_limit_bytes, cloudlet::kOutputLimitBytes,
          "output cap of a run (stdout and stderr of build and run)");
ABSL_FLAG(uint64_t, max_code_bytes, cloudlet::kMaxCodeBytes,
          "largest accepted source code");
ABSL_FLAG(uint64_t, max_stdin_bytes, cloudlet::kMaxStdinBytes,
          "largest accepted stdin");
ABSL_FLAG(uint32_t, max_runs, 32, "runs at once; more are refused");
ABSL_FLAG(bool, accept_host_state, false,
          "set this machine's clock and reseed its random generator from "
          "each run request's host_time and host_entropy (the guest's /init "
          "passes it; never use it on a host)");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(2),
          "on SIGTERM, how long stopped runs get to send their result");
ABSL_FLAG(std::string, run_as, "",
          "UID:GID to run workloads as (the guest passes 65534:65534); "
          "empty: the agent's own user. Needs root");
ABSL_FLAG(uint32_t, max_processes, 256,
          "with --run_as: the most processes and threads a run may have at "
          "once (RLIMIT_NPROC)");

namespace {

namespace agent = cloudlet::agent;

absl::StatusOr<std::filesystem::path> WorkRoot(std::string flag) {
  if (flag.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    flag = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  }
  std::error_code error;
  std::filesystem::create_directories(flag, error);
  if (error || !std::filesystem::is_directory(flag)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--work_root=", flag, ": not a usable directory",
                     error ? absl::StrCat(" (", error.message(), ")") : ""));
  }
  return std::filesystem::path(flag);
}

// "UID:GID" -> RunAs; "" -> nullopt.
absl::StatusOr<std::optional<agent::RunAs>> ParseRunAs(const std::string& flag) {
  if (flag.empty()) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(flag, ':');
  agent::RunAs run_as;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &run_as.uid) ||
      !absl::SimpleAtoi(parts[1], &run_as.gid)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--run_as=", flag, ": expected UID:GID, e.g. 65534:65534"));
  }
  if (::geteuid() != 0) {
    return absl::InvalidArgumentError(
        "--run_as needs the agent to run as root");
  }
  return run_as;
}

int Fail(const absl::Status& status) {
  spdlog::error("event=exit error=\"{}\"", status.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  cloudlet::DisableDebugOnlyMutexChecks();  // before any mutex is used
  // First, while the process has one thread (see clock_offset.h).
  absl::StatusOr<absl::Duration> clock_offset =
      agent::EnsureMonotonicClockAtLeast(agent::kGrpcMinimumMonotonicClock);
  cloudlet::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "cloudlet-agent --listen=HOST:PORT: builds and runs workloads for the "
      "Cloudlet VMM");
  std::vector<std::string> args = cloudlet::NormalizeFlagNames(argc, argv);
  std::vector<char*> arg_pointers = cloudlet::ArgvPointers(args);
  // The pointer list ends with argv's customary nullptr; argc excludes it.
  absl::ParseCommandLine(static_cast<int>(args.size()), arg_pointers.data());
  if (absl::Status s = cloudlet::InitLogging("cloudlet-agent",
                                             absl::GetFlag(FLAGS_log_level));
      !s.ok()) {
    std::fprintf(stderr, "cloudlet-agent: %s\n", s.ToString().c_str());
    return 2;
  }
  if (!clock_offset.ok()) {
    spdlog::warn("event=clock_offset_failed error=\"{}\" effect=\"gRPC waits "
                 "until the monotonic clock reads 2 s\"",
                 clock_offset.status().ToString());
  } else if (*clock_offset > absl::ZeroDuration()) {
    spdlog::debug("event=clock_offset seconds={}",
                  absl::ToInt64Seconds(*clock_offset));
  }

  agent::AgentServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_runs = absl::GetFlag(FLAGS_max_runs);
  options.accept_host_state = absl::GetFlag(FLAGS_accept_host_state);
  agent::ExecutorOptions& executor = options.executor;
  absl::StatusOr<std::filesystem::path> work_root =
      WorkRoot(absl::GetFlag(FLAGS_work_root));
  if (!work_root.ok()) return Fail(work_root.status());
  executor.work_root = *work_root;
  executor.default_timeout = absl::GetFlag(FLAGS_default_timeout);
  executor.max_timeout = absl::GetFlag(FLAGS_max_timeout);
  executor.output_limit_bytes = absl::GetFlag(FLAGS_output_limit_bytes);
  executor.request_limits.max_code_bytes = absl::GetFlag(FLAGS_max_code_bytes);
  executor.request_limits.max_stdin_bytes =
      absl::GetFlag(FLAGS_max_stdin_bytes);
  absl::StatusOr<std::optional<agent::RunAs>> run_as =
      ParseRunAs(absl::GetFlag(FLAGS_run_as));
  if (!run_as.ok()) return Fail(run_as.status());
  executor.run_as = *run_as;
  executor.max_processes = absl::GetFlag(FLAGS_max_processes);
  for (char** entry = environ; *entry != nullptr; ++entry) {
    executor.base_env.emplace_back(*entry);
  }
  if (executor.default_timeout <= absl::ZeroDuration() ||
      executor.max_timeout < executor.default_timeout) {
    return Fail(absl::InvalidArgumentError(
        "--default_timeout must be positive and at most --max_timeout"));
  }
  if (options.max_runs == 0 || executor.output_limit_bytes == 0) {
    return Fail(absl::InvalidArgumentError(
        "--max_runs and --output_limit_bytes must be positive"));
  }

  absl::StatusOr<std::unique_ptr<agent::AgentServer>> server =
      agent::AgentServer::Start(std::move(options));
  if (!server.ok()) return Fail(server.status());
  if (std::string port_file = absl::GetFlag(FLAGS_port_file);
      !port_file.empty()) {
    if (absl::Status s = cloudlet::WritePortFile(port_file, (*server)->port());
        !s.ok()) {
      return Fail(s);
    }
  }
  // The VMM waits for this line on the guest's console before it calls
  // Health: it is written whatever the log level.
  std::fprintf(stderr, "%s%d\n", std::string(cloudlet::kAgentServingLine).c_str(),
               (*server)->port());
  std::fflush(stderr);
  spdlog::info("event=ready version={} pid={} work_root={} run_as={}",
               CLOUDLET_VERSION, ::getpid(), work_root->string(),
               *run_as ? absl::GetFlag(FLAGS_run_as) : "self");

  int signal = cloudlet::WaitForTerminationSignal();
  spdlog::info("event=signal signal={}", signal);
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  return 0;
}
