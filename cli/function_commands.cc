#include "cli/function_commands.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api.pb.h"
#include "cli/client/api_client.h"
#include "cli/config/workload_config.h"
#include "cli/output/exit_codes.h"
#include "common/read_file.h"
#include "common/run_limits.h"
#include "common/workload_names.h"

namespace cloudlet::cli {
namespace {

constexpr absl::Duration kRequestTimeout = absl::Seconds(30);

// Writes `text` to the context's stdout.
void PrintOut(const CliContext& context, absl::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(context.stdout_fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads all of `path` ("-": this process's stdin), at most kMaxStdinBytes.
absl::StatusOr<std::string> ReadStdinFile(const std::string& path) {
  std::string data;
  if (path == "-") {
    char buffer[65536];
    while (true) {
      ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InvalidArgumentError("--stdin -: cannot read");
      if (n == 0) break;
      data.append(buffer, static_cast<size_t>(n));
      if (data.size() > kMaxStdinBytes) break;
    }
  } else {
    absl::StatusOr<std::string> content = ReadFileUpTo(path, kMaxStdinBytes);
    if (!content.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--stdin: ", content.status().message()));
    }
    data = *std::move(content);
  }
  if (data.size() > kMaxStdinBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--stdin ", path, ": over the limit of ", kMaxStdinBytes, " bytes"));
  }
  return data;
}

// A plain GET/DELETE of the API, its error as the exit code: 2 when the
// function is unknown, 1 otherwise.
absl::StatusOr<HttpReply> Call(const CliContext& context, Renderer& renderer,
                               absl::string_view method, absl::string_view path,
                               int* exit_code) {
  absl::StatusOr<ApiUrl> url = ChooseApiUrl(context);
  if (!url.ok()) {
    renderer.PrintError(url.status().message());
    *exit_code = kExitUsage;
    return url.status();
  }
  ApiClient api(url->text, context.interrupt_fd, context.env_token);
  absl::StatusOr<HttpReply> reply = method == "DELETE"
                                        ? api.Delete(path, kRequestTimeout)
                                        : api.Get(path, kRequestTimeout);
  if (!reply.ok()) {
    renderer.PrintError(IsNotListening(reply.status())
                            ? absl::StrCat("nothing answers at ", url->text,
                                           "; is cloudlet-api running there?")
                            : std::string(reply.status().message()));
    *exit_code = kExitPlatformFailure;
    return reply.status();
  }
  if (reply->status >= 300) {
    absl::Status status = StatusFromReply(*reply);
    renderer.PrintError(status.message());
    *exit_code = absl::IsNotFound(status) || absl::IsInvalidArgument(status)
                     ? kExitUsage
                     : kExitPlatformFailure;
    return status;
  }
  *exit_code = 0;
  return reply;
}

std::string StateName(v1::BuildState state) {
  switch (state) {
    case v1::BUILD_STATE_BUILDING:
      return "building";
    case v1::BUILD_STATE_READY:
      return "ready";
    case v1::BUILD_STATE_FAILED:
      return "failed";
    default:
      return "-";
  }
}

std::string LastRun(const v1::Function& function) {
  if (!function.has_last_result()) return "-";
  const v1::Result& result = function.last_result();
  if (result.has_signal()) return absl::StrCat("signal ", result.signal());
  if (result.status() == v1::DONE) {
    return absl::StrCat("exit ", result.exit_code());
  }
  return std::string(ReasonName(result.reason()));
}

}  // namespace

int DeployWorkload(const CliContext& context, Renderer& renderer,
                   const v1::RunRequest& request) {
  google::protobuf::Struct body;
  if (!google::protobuf::util::JsonStringToMessage(MessageJson(request), &body)
           .ok()) {
    renderer.PrintError("cannot encode the request as JSON");
    return kExitPlatformFailure;
  }
  (*body.mutable_fields())["name"].set_string_value(request.workload().name());
  std::optional<v1::Deployed> deployed;
  auto intercept = [&deployed](const SseEvent& event) {
    if (event.event != "function") return false;
    v1::Deployed parsed;
    google::protobuf::util::JsonParseOptions lenient;
    lenient.ignore_unknown_fields = true;
    if (google::protobuf::util::JsonStringToMessage(event.data, &parsed,
                                                    lenient)
            .ok()) {
      deployed = parsed;
    }
    return false;  // --json prints it as one more line
  };
  int code = StreamCommand(context, renderer, "/functions", MessageJson(body),
                           intercept);
  if (deployed.has_value() && deployed->state() == v1::BUILD_STATE_READY) {
    renderer.Note(absl::StrCat("deployed ", deployed->name(), " version ",
                               deployed->version()));
  } else if (deployed.has_value()) {
    renderer.Note(absl::StrCat(deployed->name(), " version ",
                               deployed->version(), " did not build; ",
                               "invocations keep the last built version"));
  }
  return code;
}

int InvokeWorkload(const CliContext& context, Renderer& renderer,
                   const v1::RunRequest& request) {
  const v1::Workload& workload = request.workload();
  v1::InvokeRequest call;
  *call.mutable_args() = workload.args();
  for (const auto& [key, value] : workload.env()) {
    (*call.mutable_env())[key] = value;
  }
  call.set_stdin(workload.stdin());
  if (workload.has_timeout()) *call.mutable_timeout() = workload.timeout();
  return StreamCommand(context, renderer,
                       absl::StrCat("/functions/", workload.name(), "/invoke"),
                       MessageJson(call), nullptr);
}

int DeployCommand(const CliContext& context) {
  Renderer renderer = MakeRenderer(context);
  std::optional<WorkloadConfig> config =
      LoadConfigForCommand(context, renderer);
  if (!config) return kExitUsage;
  return DeployWorkload(context, renderer, config->request);
}

int InvokeCommand(const CliContext& context) {
  Renderer renderer = MakeRenderer(context);
  v1::InvokeRequest call;
  for (const std::string& arg : context.options.program_args) {
    call.add_args(arg);
  }
  if (context.options.stdin_path.has_value()) {
    absl::StatusOr<std::string> data =
        ReadStdinFile(*context.options.stdin_path);
    if (!data.ok()) {
      renderer.PrintError(data.status().message());
      return kExitUsage;
    }
    call.set_stdin(*std::move(data));
  }
  return StreamCommand(
      context, renderer,
      absl::StrCat("/functions/", context.options.function_name, "/invoke"),
      MessageJson(call), nullptr);
}

int FunctionsCommand(const CliContext& context) {
  Renderer renderer = MakeRenderer(context);
  int code = 0;
  absl::StatusOr<HttpReply> reply =
      Call(context, renderer, "GET", "/functions", &code);
  if (!reply.ok()) return code;
  if (context.options.json) {
    PrintOut(context, reply->body);
    return 0;
  }
  v1::FunctionList list;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  (void)google::protobuf::util::JsonStringToMessage(reply->body, &list, lenient);
  std::string text =
      absl::StrFormat("%-24s %-8s %-9s %-8s %s\n", "NAME", "VERSION", "STATE",
                      "INVOKED", "LAST RUN");
  for (const v1::Function& function : list.functions()) {
    absl::StrAppend(
        &text, absl::StrFormat("%-24s %-8d %-9s %-8d %s\n", function.name(),
                               function.latest_version(),
                               StateName(function.latest_state()),
                               function.invocations(), LastRun(function)));
  }
  PrintOut(context, text);
  return 0;
}

int FunctionShowCommand(const CliContext& context) {
  Renderer renderer = MakeRenderer(context);
  int code = 0;
  absl::StatusOr<HttpReply> reply =
      Call(context, renderer, "GET",
           absl::StrCat("/functions/", context.options.function_name), &code);
  if (!reply.ok()) return code;
  if (context.options.json) {
    PrintOut(context, reply->body);
    return 0;
  }
  v1::Function function;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  (void)google::protobuf::util::JsonStringToMessage(reply->body, &function,
                                                    lenient);
  std::string text = absl::StrCat(
      "name:        ", function.name(), "\ninvocations: ",
      function.invocations(), "\ninvokes:     version ",
      function.ready_version() > 0 ? absl::StrCat(function.ready_version())
                                   : "none (nothing built)",
      "\nlast run:    ", LastRun(function), "\n\n",
      absl::StrFormat("%-8s %-9s %-8s %-10s %s\n", "VERSION", "STATE",
                      "LANGUAGE", "CODE", "MESSAGE"));
  for (const v1::FunctionVersion& version : function.versions()) {
    absl::StrAppend(
        &text, absl::StrFormat("%-8d %-9s %-8s %-10s %s\n", version.version(),
                               StateName(version.state()),
                               LanguageName(version.language()),
                               absl::StrCat(version.code_bytes(), " B"),
                               version.message()));
  }
  PrintOut(context, text);
  return 0;
}

int FunctionDeleteCommand(const CliContext& context) {
  Renderer renderer = MakeRenderer(context);
  int code = 0;
  absl::StatusOr<HttpReply> reply =
      Call(context, renderer, "DELETE",
           absl::StrCat("/functions/", context.options.function_name), &code);
  if (!reply.ok()) return code;
  renderer.Note(absl::StrCat("deleted ", context.options.function_name));
  return 0;
}

}  // namespace cloudlet::cli
