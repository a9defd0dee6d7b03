#ifndef CLOUDLET_CLI_COMMANDS_H_
#define CLOUDLET_CLI_COMMANDS_H_

#include <functional>
#include <optional>
#include <string>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "cli/client/daemons.h"
#include "cli/client/sse_parser.h"
#include "cli/config/workload_config.h"
#include "cli/output/renderer.h"
#include "vmm.pb.h"

namespace cloudlet::cli {

// Everything a command takes from the process, so that tests can vary it.
struct CliContext {
  CliOptions options;
  std::string env_api_url;  // $CLOUDLET_API_URL
  std::string env_token;    // $CLOUDLET_TOKEN: sent as a bearer token
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

// `cloudlet deploy`, `functions`, `function show|delete`, `invoke`:
// function_commands.h.

// What the command files share.
// The API URL: --api-url, else $CLOUDLET_API_URL, else the default.
absl::StatusOr<ApiUrl> ChooseApiUrl(const CliContext& context);
// A renderer writing to the context's stdout and stderr.
Renderer MakeRenderer(const CliContext& context);
// The config at --config-path, its warnings printed; nullopt when it
// cannot be used (the error printed: exit with kExitUsage).
std::optional<WorkloadConfig> LoadConfigForCommand(const CliContext& context,
                                                   Renderer& renderer);
// `message` as the API's JSON (proto field names).
std::string MessageJson(const google::protobuf::Message& message);
// POSTs `body` to the streaming route `path` and renders the stream as
// `cloudlet run` does, starting the daemons when nothing answers on a
// loopback URL (unless --no-start). SSE events for which `intercept`
// returns true are not rendered. Returns the exit code: the run's
// (exit_codes.h), 2 for an unknown function or one with nothing built.
int StreamCommand(const CliContext& context, Renderer& renderer,
                  absl::string_view path, const std::string& body,
                  const std::function<bool(const SseEvent&)>& intercept);

// `cloudlet shutdown`: POST /shutdown, then waits until the API stops
// answering and the daemons `cloudlet run` started for this URL have exited
// (stopping them with signals if they linger). 0 also when nothing was
// running.
int ShutdownCommand(const CliContext& context);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_COMMANDS_H_
