#include "cli/client/daemons.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/client/detached_spawn.h"
#include "common/sync/poll.h"
#include "common/process/subprocess.h"
#include "common/process/unique_fd.h"

namespace cloudlet::cli {
namespace {

namespace fs = std::filesystem;

std::string Getenv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

bool IsExecutable(const fs::path& path) {
  std::error_code error;
  return ::access(path.c_str(), X_OK) == 0 && fs::is_regular_file(path, error);
}

absl::StatusOr<fs::path> FindDaemon(absl::string_view name,
                                    absl::string_view build_subdir,
                                    const std::string& env_value,
                                    absl::string_view env_name,
                                    const DaemonEnvironment& env) {
  if (!env_value.empty()) {
    if (IsExecutable(env_value)) return fs::path(env_value);
    return absl::NotFoundError(absl::StrCat(env_name, "=", env_value,
                                            ": not an executable file"));
  }
  std::vector<fs::path> candidates;
  if (!env.self_exe.empty()) {
    fs::path dir = env.self_exe.parent_path();
    candidates.push_back(dir / std::string(name));
    candidates.push_back(dir.parent_path() / std::string(build_subdir) /
                         std::string(name));
  }
  for (const fs::path& candidate : candidates) {
    if (IsExecutable(candidate)) return candidate;
  }
  absl::StatusOr<std::string> in_path = FindExecutable(name, env.path);
  if (in_path.ok()) return fs::path(*in_path);
  std::vector<std::string> looked;
  looked.reserve(candidates.size() + 1);
  for (const fs::path& candidate : candidates) looked.push_back(candidate);
  looked.push_back("$PATH");
  return absl::NotFoundError(absl::StrCat(
      "cannot start ", name, ": not found in ", absl::StrJoin(looked, ", "),
      "; set ", env_name, " or start it yourself"));
}

// The last non-empty line of a log, for a one-line error.
std::string LastLine(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!absl::StripAsciiWhitespace(line).empty()) last = line;
  }
  return last;
}

struct Recorded {
  pid_t pid = 0;
  fs::path binary;
};

void WritePidFile(const fs::path& file, pid_t pid, const fs::path& binary) {
  std::ofstream out(file, std::ios::trunc);
  out << pid << " " << binary.string() << "\n";
}

std::optional<Recorded> ReadPidFile(const fs::path& file) {
  std::ifstream in(file);
  Recorded recorded;
  std::string binary;
  if (!(in >> recorded.pid >> binary) || recorded.pid <= 1) return std::nullopt;
  recorded.binary = binary;
  return recorded;
}

// True while `pid` runs `binary` (not a zombie, not a reused pid).
bool IsAlive(const Recorded& recorded) {
  std::ifstream stat(absl::StrCat("/proc/", recorded.pid, "/stat"));
  std::string content((std::istreambuf_iterator<char>(stat)),
                      std::istreambuf_iterator<char>());
  size_t paren = content.rfind(')');
  if (paren == std::string::npos || paren + 2 >= content.size()) return false;
  char state = content[paren + 2];
  if (state == 'Z' || state == 'X') return false;
  std::error_code error;
  fs::path exe =
      fs::read_symlink(absl::StrCat("/proc/", recorded.pid, "/exe"), error);
  if (error) return false;
  std::string exe_text = exe.string();
  if (exe_text.ends_with(" (deleted)")) {
    exe_text.resize(exe_text.size() - std::string_view(" (deleted)").size());
  }
  fs::path expected = fs::weakly_canonical(recorded.binary, error);
  return exe_text == expected.string() || exe_text == recorded.binary.string();
}

// Stops daemons this call started (they are our children) after a failed
// start-up, so that nothing is left half-running.
void StopSpawned(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) ::kill(pid, SIGTERM);
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  for (pid_t pid : pids) {
    (void)PollUntil("a daemon to exit", deadline, [pid]() -> absl::StatusOr<bool> {
      return ::waitpid(pid, nullptr, WNOHANG) != 0;
    });
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, WNOHANG);
  }
}

}  // namespace

DaemonEnvironment DaemonEnvironment::FromProcess() {
  DaemonEnvironment env;
  env.vmm_binary = Getenv("CLOUDLET_VMM_BINARY");
  env.api_binary = Getenv("CLOUDLET_API_BINARY");
  env.vmm_address = Getenv("CLOUDLET_VMM_ADDRESS");
  env.xdg_state_home = Getenv("XDG_STATE_HOME");
  env.home = Getenv("HOME");
  env.path = Getenv("PATH");
  std::error_code error;
  env.self_exe = fs::read_symlink("/proc/self/exe", error);
  return env;
}

fs::path StateDir(const DaemonEnvironment& env) {
  if (!env.xdg_state_home.empty()) {
    return fs::path(env.xdg_state_home) / "cloudlet";
  }
  return fs::path(env.home.empty() ? "/tmp" : env.home) / ".local" / "state" /
         "cloudlet";
}

fs::path DaemonSetup::LogFile(absl::string_view daemon) const {
  return state_dir / absl::StrCat(daemon, "-", api_port, ".log");
}

fs::path DaemonSetup::PidFile(absl::string_view daemon) const {
  return state_dir / absl::StrCat(daemon, "-", api_port, ".pid");
}

absl::StatusOr<DaemonSetup> ResolveDaemons(const ApiUrl& url,
                                           const DaemonEnvironment& env) {
  DaemonSetup setup;
  absl::StatusOr<fs::path> vmm = FindDaemon(
      "cloudlet-vmm", "vmm", env.vmm_binary, "CLOUDLET_VMM_BINARY", env);
  if (!vmm.ok()) return vmm.status();
  absl::StatusOr<fs::path> api = FindDaemon(
      "cloudlet-api", "api", env.api_binary, "CLOUDLET_API_BINARY", env);
  if (!api.ok()) return api.status();
  setup.vmm_binary = *vmm;
  setup.api_binary = *api;
  setup.state_dir = StateDir(env);
  setup.api_port = url.port;
  std::string host = url.host == "localhost" ? "127.0.0.1" : url.host;
  setup.api_listen = absl::StrCat(host, ":", url.port);
  setup.vmm_address =
      env.vmm_address.empty() ? "127.0.0.1:50051" : env.vmm_address;
  return setup;
}

absl::Status StartDaemons(
    const DaemonSetup& setup, ApiClient& api, absl::Time deadline,
    const std::function<void(absl::string_view)>& on_status) {
  std::error_code error;
  fs::create_directories(setup.state_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "cannot create ", setup.state_dir.string(), ": ", error.message()));
  }
  fs::permissions(setup.state_dir, fs::perms::owner_all, error);

  // One starter at a time; a second one finds the pair already coming up.
  fs::path lock_path =
      setup.state_dir / absl::StrCat("start-", setup.api_port, ".lock");
  UniqueFd lock(::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
  if (!lock) {
    return absl::InternalError(absl::StrCat("cannot open ", lock_path.string(),
                                            ": ", std::strerror(errno)));
  }
  absl::Status locked = PollUntil(
      "another cloudlet starting the API", deadline,
      [&]() -> absl::StatusOr<bool> {
        if (api.Interrupted()) return absl::CancelledError("interrupted");
        return ::flock(lock.get(), LOCK_EX | LOCK_NB) == 0;
      },
      absl::Milliseconds(20), absl::Milliseconds(200));
  if (!locked.ok()) return locked;

  std::vector<std::pair<std::string, pid_t>> spawned;
  absl::StatusOr<HttpReply> probe = api.Get("/healthz", absl::Seconds(2));
  if (!probe.ok() && !IsNotListening(probe.status())) return probe.status();
  if (!probe.ok()) {
    on_status(absl::StrCat("starting cloudlet-vmm and cloudlet-api (logs in ",
                           setup.state_dir.string(), ")"));
    struct Daemon {
      std::string name;
      fs::path binary;
      std::vector<std::string> argv;
    };
    std::vector<Daemon> daemons = {
        {"vmm", setup.vmm_binary,
         {setup.vmm_binary.string(),
          absl::StrCat("--listen=", setup.vmm_address)}},
        {"api", setup.api_binary,
         {setup.api_binary.string(),
          absl::StrCat("--listen=", setup.api_listen),
          absl::StrCat("--vmm_target=", setup.vmm_address)}},
    };
    for (const Daemon& daemon : daemons) {
      absl::StatusOr<pid_t> pid =
          SpawnDetached(daemon.argv, setup.LogFile(daemon.name));
      if (!pid.ok()) {
        std::vector<pid_t> pids;
        pids.reserve(spawned.size());
        for (const auto& [name, p] : spawned) pids.push_back(p);
        StopSpawned(pids);
        return pid.status();
      }
      WritePidFile(setup.PidFile(daemon.name), *pid, daemon.binary);
      spawned.emplace_back(daemon.name, *pid);
    }
  }

  absl::Status ready = PollUntil(
      absl::StrCat("the API at ", api.base_url(), " to report ready"), deadline,
      [&]() -> absl::StatusOr<bool> {
        if (api.Interrupted()) return absl::CancelledError("interrupted");
        for (const auto& [name, pid] : spawned) {
          int wait_status = 0;
          if (::waitpid(pid, &wait_status, WNOHANG) == pid) {
            fs::path log = setup.LogFile(name);
            return absl::UnavailableError(absl::StrCat(
                "cloudlet-", name, " exited during start-up (",
                ExitStatus::FromWaitStatus(wait_status).ToString(), "); ",
                log.string(), " ends: ", LastLine(log)));
          }
        }
        absl::StatusOr<HttpReply> health = api.Get("/healthz", absl::Seconds(2));
        if (!health.ok()) {
          if (health.status().code() == absl::StatusCode::kCancelled) {
            return health.status();
          }
          return false;
        }
        return health->status == 200;
      },
      absl::Milliseconds(20), absl::Milliseconds(250));
  if (!ready.ok()) {
    std::vector<pid_t> pids;
    for (const auto& [name, pid] : spawned) {
      pids.push_back(pid);
      fs::remove(setup.PidFile(name), error);
    }
    StopSpawned(pids);
    return ready;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> StopRecordedDaemons(const fs::path& state_dir,
                                        int api_port, absl::Time terminate_at,
                                        absl::Time deadline) {
  struct Entry {
    std::string name;
    fs::path pid_file;
    Recorded recorded;
  };
  std::vector<Entry> alive;
  std::error_code error;
  for (const char* name : {"api", "vmm"}) {
    fs::path pid_file = state_dir / absl::StrCat(name, "-", api_port, ".pid");
    std::optional<Recorded> recorded = ReadPidFile(pid_file);
    if (recorded.has_value() && IsAlive(*recorded)) {
      alive.push_back({name, pid_file, *recorded});
    } else {
      fs::remove(pid_file, error);
    }
  }
  int count = static_cast<int>(alive.size());
  bool terminated = false;
  auto all_gone = [&]() -> absl::StatusOr<bool> {
    if (!terminated && absl::Now() >= terminate_at) {
      for (const Entry& entry : alive) ::kill(entry.recorded.pid, SIGTERM);
      terminated = true;
    }
    for (const Entry& entry : alive) {
      if (IsAlive(entry.recorded)) return false;
    }
    return true;
  };
  absl::Status gone = PollUntil("the daemons to exit", deadline, all_gone,
                                absl::Milliseconds(20), absl::Milliseconds(200));
  std::vector<std::string> killed;
  if (!gone.ok()) {
    for (const Entry& entry : alive) {
      if (IsAlive(entry.recorded)) {
        ::kill(entry.recorded.pid, SIGKILL);
        killed.push_back(absl::StrCat("cloudlet-", entry.name, " (pid ",
                                      entry.recorded.pid, ")"));
      }
    }
  }
  for (const Entry& entry : alive) fs::remove(entry.pid_file, error);
  if (!killed.empty()) {
    return absl::DeadlineExceededError(
        absl::StrCat(absl::StrJoin(killed, " and "),
                     " did not stop in time and was killed"));
  }
  return count;
}

}  // namespace cloudlet::cli
