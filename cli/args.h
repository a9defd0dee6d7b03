#ifndef CLOUDLET_CLI_ARGS_H_
#define CLOUDLET_CLI_ARGS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cloudlet::cli {

enum class Command {
  kRun,
  kDeploy,
  kFunctions,
  kFunctionShow,
  kFunctionDelete,
  kInvoke,
  kShutdown,
  kHelp,
  kVersion
};

// What the command line asked for.
struct CliOptions {
  Command command = Command::kHelp;
  std::string config_path;             // run, deploy: --config-path / -c / positional
  std::string function_name;           // function show|delete NAME, invoke NAME
  std::optional<std::string> stdin_path;  // invoke: --stdin FILE|-
  std::vector<std::string> program_args;  // invoke: after --
  std::optional<std::string> api_url;  // --api-url (else CLOUDLET_API_URL)
  bool json = false;                   // --json
  bool quiet = false;                  // --quiet / -q
  bool no_start = false;               // --no-start
  bool rebuild = false;                // --rebuild
};

// Parses the arguments after the program name:
//   cloudlet run --config-path FILE | -c FILE | FILE
//   cloudlet deploy -c FILE
//   cloudlet functions
//   cloudlet function show|delete NAME
//   cloudlet invoke NAME [--stdin FILE|-] [-- ARGS...]
//   cloudlet shutdown
//   cloudlet --help | -h | help, cloudlet --version | -V | version
// Options may come before or after the command; `--opt=value` and
// `--opt value` both work. InvalidArgument (exit 2) naming the offending
// argument for anything else.
absl::StatusOr<CliOptions> ParseArgs(const std::vector<std::string>& args);

// The text of `cloudlet --help`.
std::string UsageText();

// A parsed API base URL: http://HOST[:PORT][/].
struct ApiUrl {
  std::string text;  // as given, without a trailing '/'
  std::string host;  // without brackets for IPv6
  int port = 80;
  // True for 127.0.0.0/8, ::1 and localhost: only then may `cloudlet run`
  // start the API and VMM itself.
  bool is_loopback() const;
};

inline constexpr absl::string_view kDefaultApiUrl = "http://127.0.0.1:3000";

// InvalidArgument for anything but an http:// URL with no path.
absl::StatusOr<ApiUrl> ParseApiUrl(absl::string_view text);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_ARGS_H_
