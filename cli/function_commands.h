#ifndef CLOUDLET_CLI_FUNCTION_COMMANDS_H_
#define CLOUDLET_CLI_FUNCTION_COMMANDS_H_

#include "cli/commands.h"
#include "cli/output/renderer.h"
#include "vmm.pb.h"

namespace cloudlet::cli {

// `cloudlet deploy -c FILE`: stores the config's workload as the next
// version of the function named by its workload-name and streams the
// build as `run` streams a run; exit 0 when it built (the version is said
// on stderr), else as a failed run.
int DeployCommand(const CliContext& context);
// `cloudlet invoke NAME [--stdin FILE|-] [-- ARGS...]`: runs the newest
// built version; output and exit code as `cloudlet run`. Exit 2 for an
// unknown function or one with nothing built.
int InvokeCommand(const CliContext& context);
// `cloudlet functions`: one line per function (--json: the API's JSON).
int FunctionsCommand(const CliContext& context);
// `cloudlet function show NAME`: its versions and last run.
int FunctionShowCommand(const CliContext& context);
// `cloudlet function delete NAME`.
int FunctionDeleteCommand(const CliContext& context);

// What `run` does for action = "prepare" (deploy) and action = "run"
// (invoke the function named after the workload, with the config's args,
// env, stdin and timeout).
int DeployWorkload(const CliContext& context, Renderer& renderer,
                   const v1::RunRequest& request);
int InvokeWorkload(const CliContext& context, Renderer& renderer,
                   const v1::RunRequest& request);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_FUNCTION_COMMANDS_H_
