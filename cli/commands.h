#ifndef CLOUDLET_CLI_COMMANDS_H_
#define CLOUDLET_CLI_COMMANDS_H_

#include <string>

#include "cli/args.h"
#include "cli/client/daemons.h"

namespace cloudlet::cli {

// Everything a command takes from the process, so that tests can vary it.
struct CliContext {
  CliOptions options;
  std::string env_api_url;  // $CLOUDLET_API_URL
  DaemonEnvironment daemons;
  int stdout_fd = 1;
  int stderr_fd = 2;
  bool stderr_is_tty = false;
  int interrupt_fd = -1;      // readable after Ctrl-C (interrupt.h)
  int (*interrupt_signal)() = nullptr;  // which signal it was, 0 if none
};

// `cloudlet run`: loads the config (exit 2 on any error, before any
// network), starts the API and VMM if nothing answers at a loopback URL
// (unless --no-start), streams the run to the terminal and returns the exit
// code (exit_codes.h); 128+N after signal N (130 for Ctrl-C), having
// dropped the connection so that the run is cancelled.
int RunCommand(const CliContext& context);

// `cloudlet shutdown`: POST /shutdown, then waits until the API stops
// answering and the daemons `cloudlet run` started for this URL have exited
// (stopping them with signals if they linger). 0 also when nothing was
// running.
int ShutdownCommand(const CliContext& context);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_COMMANDS_H_
