#include "cli/client/detached_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace cloudlet::cli {
namespace {

// posix_spawn's attribute and file-action objects, destroyed on scope exit.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

absl::StatusOr<pid_t> SpawnDetached(const std::vector<std::string>& argv,
                                    const std::filesystem::path& log_file) {
  if (argv.empty()) return absl::InvalidArgumentError("SpawnDetached: no argv");
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot execute ", argv[0], ": ",
                                            std::strerror(errno)));
  }
  SpawnSetup setup;
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) {
    sigaddset(&defaults, signal_number);
  }
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setflags(
      &setup.attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                       POSIX_SPAWN_SETSIGDEF);
  std::string log = log_file.string();
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  int error = ::posix_spawn(&pid, argv[0].c_str(), &setup.actions, &setup.attr,
                            args.data(), environ);
  if (error != 0) {
    return absl::NotFoundError(absl::StrCat("cannot start ", argv[0], ": ",
                                            std::strerror(error)));
  }
  return pid;
}

}  // namespace cloudlet::cli
