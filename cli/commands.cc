#include "cli/commands.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/client/api_client.h"
#include "cli/output/exit_codes.h"
#include "cli/output/renderer.h"
#include "cli/config/workload_config.h"
#include "cli/function_commands.h"
#include "common/sync/poll.h"

namespace cloudlet::cli {
namespace {

// Writes everything to `fd`, as it comes (no buffering). Once the reader
// has gone (EPIPE: `cloudlet run ... | head`), further output is dropped
// and the run goes on.
class FdSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  void operator()(absl::string_view bytes) {
    while (!bytes.empty() && !broken_) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        broken_ = true;
        return;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  bool broken_ = false;
};

OutputMode ModeOf(const CliOptions& options) {
  if (options.json) return OutputMode::kJson;
  if (options.quiet) return OutputMode::kQuiet;
  return OutputMode::kNormal;
}

int InterruptedExit(const CliContext& context) {
  int signal_number =
      context.interrupt_signal != nullptr ? context.interrupt_signal() : 0;
  return signal_number > 0 ? 128 + signal_number : kExitInterrupted;
}

}  // namespace

absl::StatusOr<ApiUrl> ChooseApiUrl(const CliContext& context) {
  if (context.options.api_url.has_value()) {
    return ParseApiUrl(*context.options.api_url);
  }
  if (!context.env_api_url.empty()) return ParseApiUrl(context.env_api_url);
  return ParseApiUrl(kDefaultApiUrl);
}

std::string MessageJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string json;
  // Fails only for a message with invalid UTF-8 in a string field, which
  // the config loader refuses before.
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  return json;
}

Renderer MakeRenderer(const CliContext& context) {
  auto out = std::make_shared<FdSink>(context.stdout_fd);
  auto err = std::make_shared<FdSink>(context.stderr_fd);
  return Renderer(
      {.mode = ModeOf(context.options),
       .stderr_is_tty = context.stderr_is_tty},
      [out](absl::string_view bytes) { (*out)(bytes); },
      [err](absl::string_view bytes) { (*err)(bytes); });
}

int StreamCommand(const CliContext& context, Renderer& renderer,
                  absl::string_view path, const std::string& body,
                  const std::function<bool(const SseEvent&)>& intercept) {
  absl::StatusOr<ApiUrl> url = ChooseApiUrl(context);
  if (!url.ok()) {
    renderer.PrintError(url.status().message());
    return kExitUsage;
  }
  ApiClient api(url->text, context.interrupt_fd, context.env_token);
  auto on_event = [&renderer, &intercept](const SseEvent& event) {
    if (intercept && intercept(event)) return;
    renderer.OnSseEvent(event);
  };
  auto on_tick = [&renderer] { renderer.Tick(); };
  absl::Status status = api.StreamPost(path, body, on_event, on_tick);

  if (IsNotListening(status)) {
    if (context.options.no_start || !url->is_loopback()) {
      renderer.PrintError(absl::StrCat(
          "nothing answers at ", url->text,
          context.options.no_start
              ? " (--no-start given); start cloudlet-api and cloudlet-vmm"
              : "; is cloudlet-api running there?"));
      return kExitPlatformFailure;
    }
    absl::StatusOr<DaemonSetup> setup = ResolveDaemons(*url, context.daemons);
    if (!setup.ok()) {
      renderer.PrintError(setup.status().message());
      return kExitPlatformFailure;
    }
    absl::Status started = StartDaemons(
        *setup, api, absl::Now() + absl::Seconds(60),
        [&renderer](absl::string_view line) { renderer.Note(line); });
    if (started.code() == absl::StatusCode::kCancelled) {
      return InterruptedExit(context);
    }
    if (!started.ok()) {
      renderer.PrintError(started.message());
      return kExitPlatformFailure;
    }
    status = api.StreamPost(path, body, on_event, on_tick);
  }

  if (status.code() == absl::StatusCode::kCancelled || api.Interrupted()) {
    renderer.PrintError("interrupted; the run was cancelled");
    return InterruptedExit(context);
  }
  // A function that does not exist (or has nothing built) is the caller's
  // mistake, like a bad config.
  if (absl::IsNotFound(status) || absl::IsFailedPrecondition(status)) {
    renderer.PrintError(status.message());
    return kExitUsage;
  }
  return renderer.Finish(status);
}

std::optional<WorkloadConfig> LoadConfigForCommand(const CliContext& context,
                                                   Renderer& renderer) {
  absl::StatusOr<WorkloadConfig> config =
      LoadWorkloadConfig(context.options.config_path);
  if (!config.ok()) {
    renderer.PrintError(config.status().message());
    return std::nullopt;
  }
  for (const std::string& warning : config->warnings) {
    renderer.PrintWarning(warning);
  }
  return *std::move(config);
}

int RunCommand(const CliContext& context) {
  Renderer renderer = MakeRenderer(context);
  std::optional<WorkloadConfig> config =
      LoadConfigForCommand(context, renderer);
  if (!config) return kExitUsage;
  if (context.options.rebuild) {
    config->request.mutable_workload()->set_rebuild(true);
  }
  // Cloudlet's actions: prepare deploys the workload as a function, run
  // invokes the function named after it, prepare-and-run runs it once.
  switch (config->request.workload().action()) {
    case v1::PREPARE:
      return DeployWorkload(context, renderer, config->request);
    case v1::RUN:
      return InvokeWorkload(context, renderer, config->request);
    default:
      break;
  }
  return StreamCommand(context, renderer, "/run",
                       MessageJson(config->request), nullptr);
}

int ShutdownCommand(const CliContext& context) {
  auto err = std::make_shared<FdSink>(context.stderr_fd);
  Renderer renderer(
      {.mode = ModeOf(context.options),
       .stderr_is_tty = context.stderr_is_tty},
      [](absl::string_view) {},
      [err](absl::string_view bytes) { (*err)(bytes); });
  absl::StatusOr<ApiUrl> url = ChooseApiUrl(context);
  if (!url.ok()) {
    renderer.PrintError(url.status().message());
    return kExitUsage;
  }
  ApiClient api(url->text, context.interrupt_fd, context.env_token);
  absl::StatusOr<HttpReply> reply =
      api.Post("/shutdown", "", absl::Seconds(15));
  bool api_answered = reply.ok();
  int exit_code = 0;
  if (reply.ok()) {
    google::protobuf::Struct answer;
    google::protobuf::util::JsonParseOptions lenient;
    lenient.ignore_unknown_fields = true;
    bool parsed =
        google::protobuf::util::JsonStringToMessage(reply->body, &answer,
                                                    lenient)
            .ok();
    const auto& fields = answer.fields();
    bool success = parsed && fields.contains("success") &&
                   fields.at("success").bool_value();
    if (reply->status != 200) {
      renderer.PrintError(StatusFromReply(*reply).message());
      exit_code = kExitPlatformFailure;
    } else if (!success) {
      std::string message =
          fields.contains("message") ? fields.at("message").string_value() : "";
      renderer.Note(absl::StrCat("the VMM did not take the shutdown (", message,
                                 "); the API is stopping"));
    }
  } else if (reply.status().code() == absl::StatusCode::kCancelled) {
    return InterruptedExit(context);
  } else if (!IsNotListening(reply.status())) {
    renderer.PrintError(reply.status().message());
    exit_code = kExitPlatformFailure;
  }

  // The API exits after answering; the VMM once its runs are over. Daemons
  // `cloudlet run` started are waited for by their pid files; if the API did
  // not answer, they are stopped with SIGTERM at once.
  absl::Time now = absl::Now();
  absl::Time terminate_at = api_answered ? now + absl::Seconds(60) : now;
  absl::StatusOr<int> recorded =
      StopRecordedDaemons(StateDir(context.daemons), url->port, terminate_at,
                          terminate_at + absl::Seconds(15));
  if (!recorded.ok()) {
    renderer.PrintError(recorded.status().message());
    return kExitPlatformFailure;
  }
  if (api_answered) {
    absl::Status gone = PollUntil(
        absl::StrCat("the API at ", url->text, " to stop"),
        now + absl::Seconds(75), [&]() -> absl::StatusOr<bool> {
          absl::StatusOr<HttpReply> health =
              api.Get("/healthz", absl::Seconds(2));
          if (!health.ok() &&
              health.status().code() == absl::StatusCode::kCancelled) {
            return health.status();
          }
          return !health.ok() && IsNotListening(health.status());
        },
        absl::Milliseconds(20), absl::Milliseconds(250));
    if (!gone.ok()) {
      renderer.PrintError(gone.message());
      return kExitPlatformFailure;
    }
  }
  if (!api_answered && *recorded == 0) {
    renderer.Note(absl::StrCat("nothing was running at ", url->text));
  } else if (exit_code == 0) {
    renderer.Note("the API and the VMM have stopped");
  }
  return exit_code;
}

}  // namespace cloudlet::cli
