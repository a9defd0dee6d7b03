// cloudlet: the command line. Arguments → a command → its exit code.
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/function_commands.h"
#include "cli/output/exit_codes.h"
#include "cli/interrupt.h"

namespace {

// Set once in main() before any command runs.
const cloudlet::cli::InterruptWatcher* g_interrupt = nullptr;

int InterruptSignal() { return g_interrupt ? g_interrupt->signal() : 0; }

}  // namespace

int RunChosenCommand(const cloudlet::cli::CliContext& context) {
  namespace cli = cloudlet::cli;
  switch (context.options.command) {
    case cli::Command::kRun:
      return cli::RunCommand(context);
    case cli::Command::kDeploy:
      return cli::DeployCommand(context);
    case cli::Command::kFunctions:
      return cli::FunctionsCommand(context);
    case cli::Command::kFunctionShow:
      return cli::FunctionShowCommand(context);
    case cli::Command::kFunctionDelete:
      return cli::FunctionDeleteCommand(context);
    case cli::Command::kInvoke:
      return cli::InvokeCommand(context);
    case cli::Command::kShutdown:
      return cli::ShutdownCommand(context);
    case cli::Command::kHelp:
    case cli::Command::kVersion:
      break;
  }
  return cli::kExitUsage;
}

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an error return, not death
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<cloudlet::cli::CliOptions> options =
      cloudlet::cli::ParseArgs(args);
  if (!options.ok()) {
    std::cerr << "cloudlet: " << options.status().message() << "\n";
    return cloudlet::cli::kExitUsage;
  }
  switch (options->command) {
    case cloudlet::cli::Command::kHelp:
      std::cout << cloudlet::cli::UsageText();
      return 0;
    case cloudlet::cli::Command::kVersion:
      std::cout << "cloudlet " << CLOUDLET_VERSION << "\n";
      return 0;
    default:
      break;
  }

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::cerr << "cloudlet: cannot initialise libcurl\n";
    return cloudlet::cli::kExitPlatformFailure;
  }
  absl::StatusOr<std::unique_ptr<cloudlet::cli::InterruptWatcher>> interrupt =
      cloudlet::cli::InterruptWatcher::Install();
  if (!interrupt.ok()) {
    std::cerr << "cloudlet: " << interrupt.status().message() << "\n";
    return cloudlet::cli::kExitPlatformFailure;
  }
  g_interrupt = interrupt->get();

  cloudlet::cli::CliContext context;
  context.options = *options;
  const char* api_url = std::getenv("CLOUDLET_API_URL");
  context.env_api_url = api_url != nullptr ? api_url : "";
  const char* token = std::getenv("CLOUDLET_TOKEN");
  context.env_token = token != nullptr ? token : "";
  context.daemons = cloudlet::cli::DaemonEnvironment::FromProcess();
  context.stderr_is_tty = ::isatty(STDERR_FILENO) == 1;
  context.interrupt_fd = (*interrupt)->fd();
  context.interrupt_signal = &InterruptSignal;

  int code = RunChosenCommand(context);
  g_interrupt = nullptr;
  interrupt->reset();
  curl_global_cleanup();
  return code;
}
