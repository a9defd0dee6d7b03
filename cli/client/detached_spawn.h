#ifndef CLOUDLET_CLI_CLIENT_DETACHED_SPAWN_H_
#define CLOUDLET_CLI_CLIENT_DETACHED_SPAWN_H_

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cloudlet::cli {

// Starts a background daemon that outlives this process, unlike
// common/subprocess.h's ChildProcess (which ties its child to the spawning
// thread and kills its group on destruction, as run-scoped children want).
//
// The program `argv[0]` (a path) runs in a session of its own (so Ctrl-C at
// the terminal does not reach it), with default signal dispositions and an
// empty signal mask, stdin from /dev/null, and stdout and stderr appended to
// `log_file` (created 0600 if missing). Returns its pid. It stays this
// process's child until this process exits: the caller may waitpid(pid,
// WNOHANG) to notice an early death, and must not wait for it otherwise.
// NotFound when the program cannot be executed.
absl::StatusOr<pid_t> SpawnDetached(const std::vector<std::string>& argv,
                                    const std::filesystem::path& log_file);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_CLIENT_DETACHED_SPAWN_H_
