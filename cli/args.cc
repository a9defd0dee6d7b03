#include "cli/args.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/rpc/net.h"

namespace cloudlet::cli {
namespace {

absl::Status Usage(absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(message, "; see cloudlet --help"));
}

CliOptions OnlyCommand(Command command) {
  CliOptions options;
  options.command = command;
  return options;
}

}  // namespace

std::string UsageText() {
  return R"(cloudlet: run a source file in a fresh microVM and stream its output

Usage:
  cloudlet run --config-path FILE     run the workload FILE describes (-c FILE)
  cloudlet deploy -c FILE             store it as a function (its
                                      workload-name) and build it once
  cloudlet functions                  list the functions
  cloudlet function show NAME         a function's versions and last run
  cloudlet function delete NAME       remove a function
  cloudlet invoke NAME [--stdin FILE|-] [-- ARGS...]
                                      run a function's newest built version
  cloudlet shutdown                   stop the API and the VMM
  cloudlet --help | --version

Options:
  -c, --config-path FILE  the workload's TOML config
      --api-url URL       the API (default $CLOUDLET_API_URL, else
                          http://127.0.0.1:3000)
      --json              print every event as one JSON line on stdout
  -q, --quiet             print only the workload's own output
      --no-start          never start cloudlet-vmm and cloudlet-api; fail
                          when nothing answers at the API URL
      --rebuild           build even when the VMM has this build cached
      --stdin FILE|-      invoke: the program's standard input
  -h, --help              this text
  -V, --version           the version

When the API URL is on this machine's loopback and nothing answers there,
`cloudlet run` starts cloudlet-vmm and cloudlet-api in the background (logs
in ${XDG_STATE_HOME:-~/.local/state}/cloudlet/); `cloudlet shutdown` stops
them.

Exit status: the workload's exit code; 128+N if signal N killed it; 124 on
timeout; 130 on Ctrl-C; 2 for usage and config errors; 1 when Cloudlet
itself failed (with a one-line reason).
)";
}

absl::StatusOr<CliOptions> ParseArgs(const std::vector<std::string>& args) {
  CliOptions options;
  std::optional<Command> command;
  std::vector<std::string> positional;
  std::vector<std::string> after_dashes;  // everything after "--"
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    // --name=value or --name value for the options that take a value.
    auto take_value = [&](absl::string_view long_name,
                          absl::string_view short_name,
                          std::string* out) -> absl::StatusOr<bool> {
      if (arg == long_name || (!short_name.empty() && arg == short_name)) {
        if (i + 1 >= args.size()) {
          return Usage(absl::StrCat(arg, " needs a value"));
        }
        *out = args[++i];
        return true;
      }
      std::string prefix = absl::StrCat(long_name, "=");
      if (absl::StartsWith(arg, prefix)) {
        *out = std::string(arg.substr(prefix.size()));
        return true;
      }
      return false;
    };
    std::string value;
    absl::StatusOr<bool> took = take_value("--config-path", "-c", &value);
    if (!took.ok()) return took.status();
    if (*took) {
      options.config_path = value;
      continue;
    }
    took = take_value("--stdin", "", &value);
    if (!took.ok()) return took.status();
    if (*took) {
      options.stdin_path = value;
      continue;
    }
    took = take_value("--api-url", "", &value);
    if (!took.ok()) return took.status();
    if (*took) {
      options.api_url = value;
      continue;
    }
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--quiet" || arg == "-q") {
      options.quiet = true;
    } else if (arg == "--no-start") {
      options.no_start = true;
    } else if (arg == "--rebuild") {
      options.rebuild = true;
    } else if (arg == "--help" || arg == "-h") {
      return OnlyCommand(Command::kHelp);
    } else if (arg == "--version" || arg == "-V") {
      return OnlyCommand(Command::kVersion);
    } else if (arg == "--") {
      after_dashes.assign(args.begin() + i + 1, args.end());
      break;
    } else if (absl::StartsWith(arg, "-") && arg != "-") {
      return Usage(absl::StrCat("unknown option ", arg));
    } else if (!command.has_value()) {
      if (arg == "run") {
        command = Command::kRun;
      } else if (arg == "deploy") {
        command = Command::kDeploy;
      } else if (arg == "functions") {
        command = Command::kFunctions;
      } else if (arg == "function") {
        command = Command::kFunctionShow;  // or delete: the next word says
      } else if (arg == "invoke") {
        command = Command::kInvoke;
      } else if (arg == "shutdown") {
        command = Command::kShutdown;
      } else if (arg == "help") {
        return OnlyCommand(Command::kHelp);
      } else if (arg == "version") {
        return OnlyCommand(Command::kVersion);
      } else {
        return Usage(absl::StrCat(
            "unknown command \"", arg,
            "\"; expected run, deploy, functions, function, invoke or "
            "shutdown"));
      }
    } else {
      positional.emplace_back(arg);
    }
  }
  if (!command.has_value()) return Usage("no command given");
  options.command = *command;
  if (options.json && options.quiet) {
    return Usage("--json and --quiet cannot be used together");
  }
  if (options.command == Command::kInvoke) {
    options.program_args = std::move(after_dashes);
  } else {
    positional.insert(positional.end(), after_dashes.begin(),
                      after_dashes.end());
  }
  if (options.stdin_path.has_value() && options.command != Command::kInvoke) {
    return Usage("--stdin is only for invoke");
  }
  if (options.command == Command::kFunctionShow) {
    if (positional.size() != 2 ||
        (positional[0] != "show" && positional[0] != "delete")) {
      return Usage("expected: cloudlet function show|delete NAME");
    }
    if (positional[0] == "delete") options.command = Command::kFunctionDelete;
    options.function_name = positional[1];
    positional.clear();
  } else if (options.command == Command::kInvoke) {
    if (positional.size() != 1) {
      return Usage("expected: cloudlet invoke NAME [--stdin FILE|-] [-- ARGS...]");
    }
    options.function_name = positional[0];
    positional.clear();
  }
  if (options.command == Command::kRun || options.command == Command::kDeploy) {
    if (!positional.empty()) {
      if (!options.config_path.empty() || positional.size() > 1) {
        return Usage(absl::StrCat("unexpected argument \"", positional.back(),
                                  "\""));
      }
      options.config_path = positional.front();
    }
    if (options.config_path.empty()) {
      return Usage(absl::StrCat(
          options.command == Command::kRun ? "run" : "deploy",
          " needs a config: cloudlet ",
          options.command == Command::kRun ? "run" : "deploy",
          " --config-path FILE"));
    }
  } else if (!positional.empty()) {
    return Usage(absl::StrCat("unexpected argument \"", positional.front(),
                              "\""));
  } else if (!options.config_path.empty()) {
    return Usage("--config-path is only for run and deploy");
  }
  return options;
}

bool ApiUrl::is_loopback() const { return IsLoopbackHost(host); }

absl::StatusOr<ApiUrl> ParseApiUrl(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "API URL \"", text, "\": ", why, " (expected e.g. ", kDefaultApiUrl,
        ")"));
  };
  absl::string_view rest = text;
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return bad("only http:// is supported");
  }
  while (absl::ConsumeSuffix(&rest, "/")) {
  }
  if (rest.find('/') != absl::string_view::npos) return bad("must have no path");
  ApiUrl url;
  url.text = absl::StrCat("http://", rest);
  absl::string_view port_text;
  if (absl::ConsumePrefix(&rest, "[")) {  // [::1]:3000
    size_t close = rest.find(']');
    if (close == absl::string_view::npos) return bad("unclosed '['");
    url.host = std::string(rest.substr(0, close));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) {
      return bad("expected ':' after ']'");
    }
    port_text = rest;
  } else {
    size_t colon = rest.rfind(':');
    url.host = std::string(rest.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (url.host.empty()) return bad("no host");
  if (!port_text.empty() &&
      (!absl::SimpleAtoi(port_text, &url.port) || url.port < 1 ||
       url.port > 65535)) {
    return bad("bad port");
  }
  return url;
}

}  // namespace cloudlet::cli
