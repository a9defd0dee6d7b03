#ifndef CLOUDLET_CLI_CLIENT_DAEMONS_H_
#define CLOUDLET_CLI_CLIENT_DAEMONS_H_

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/client/api_client.h"
#include "cli/args.h"

namespace cloudlet::cli {

// What the process environment says about the background daemons.
struct DaemonEnvironment {
  std::string vmm_binary;      // $CLOUDLET_VMM_BINARY
  std::string api_binary;      // $CLOUDLET_API_BINARY
  std::string vmm_address;     // $CLOUDLET_VMM_ADDRESS, default 127.0.0.1:50051
  std::string xdg_state_home;  // $XDG_STATE_HOME
  std::string home;            // $HOME
  std::string path;            // $PATH
  std::filesystem::path self_exe;  // this cloudlet binary

  static DaemonEnvironment FromProcess();
};

// ${XDG_STATE_HOME:-$HOME/.local/state}/cloudlet: logs and pid files.
std::filesystem::path StateDir(const DaemonEnvironment& env);

// The auto-started pair serving one API port. Files in the state directory
// are per API port, so that pairs on different ports stay apart:
// vmm-3000.log, api-3000.log, vmm-3000.pid, api-3000.pid.
struct DaemonSetup {
  std::filesystem::path vmm_binary;
  std::filesystem::path api_binary;
  std::filesystem::path state_dir;
  int api_port = 3000;
  std::string api_listen;   // "127.0.0.1:3000"
  std::string vmm_address;  // "127.0.0.1:50051"

  std::filesystem::path LogFile(absl::string_view daemon) const;
  std::filesystem::path PidFile(absl::string_view daemon) const;
};

// Finds cloudlet-vmm and cloudlet-api: the environment variables, then
// next to this binary (an install), then in the build tree
// (build/cli/cloudlet -> build/vmm/cloudlet-vmm, build/api/cloudlet-api),
// then $PATH. NotFound naming where it looked.
absl::StatusOr<DaemonSetup> ResolveDaemons(const ApiUrl& url,
                                           const DaemonEnvironment& env);

// Starts cloudlet-vmm and cloudlet-api detached (they outlive this
// process; see detached_spawn.h), records their pids, and waits until the
// API's GET /healthz answers 200. A lock file keeps two `cloudlet run`s
// from starting two pairs. If either daemon exits during start-up, or
// `deadline` passes, both are stopped again and the error names the log
// and its last line. Cancelled when `api`'s interrupt fires.
// `on_status` receives one line for the terminal ("starting ...").
absl::Status StartDaemons(const DaemonSetup& setup, ApiClient& api,
                          absl::Time deadline,
                          const std::function<void(absl::string_view)>& on_status);

// Waits until the daemons recorded for `api_port` in `state_dir` have
// exited, sending SIGTERM to those still alive at `terminate_at` (now, if
// it has passed) and SIGKILL at `deadline`; removes their pid files. OK
// when none is recorded or alive. Returns how many were recorded alive.
absl::StatusOr<int> StopRecordedDaemons(const std::filesystem::path& state_dir,
                                        int api_port, absl::Time terminate_at,
                                        absl::Time deadline);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_CLIENT_DAEMONS_H_
