#include "api/http/functions_handler.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/http/json_body.h"
#include "api/http/peer_watch.h"
#include "api/request/run_request_json.h"
#include "common/run_limits.h"
#include "common/utf8.h"
#include "common/workload_names.h"
#include "common/workload_source.h"
#include "spdlog/spdlog.h"

namespace cloudlet::api {
namespace {

// How often a JSON invoke checks that its client is still there.
constexpr absl::Duration kPeerCheckInterval = absl::Milliseconds(100);

// The {name} of /functions/{name}[/invoke].
std::string NameOf(const httplib::Request& request) {
  return request.matches.size() > 1 ? std::string(request.matches[1]) : "";
}

// Sets an error response; 409 for "no built version yet", 413 for sizes.
void Refuse(const absl::Status& status, httplib::Response& response) {
  SetErrorResponse(status, response);
  if (absl::IsFailedPrecondition(status)) response.status = 409;
}

void RefuseTooLarge(absl::string_view what, uint64_t size, uint64_t limit,
                    httplib::Response& response) {
  SetErrorResponse(absl::ResourceExhaustedError(absl::StrCat(
                       what, " is ", size, " bytes, over the limit of ", limit,
                       " bytes")),
                   response);
  response.status = 413;
}

// The deployed workload with one call's changes: args replace the
// deployed ones when given, env is for the program only (so the build,
// and its cache key, stay the deploy's), stdin and timeout replace.
v1::RunRequest InvocationOf(const StoredVersion& version,
                            const v1::InvokeRequest& call) {
  v1::RunRequest run;
  *run.mutable_workload() = version.workload;
  v1::Workload& workload = *run.mutable_workload();
  workload.set_action(v1::PREPARE_AND_RUN);
  if (call.args_size() > 0) *workload.mutable_args() = call.args();
  for (const auto& [key, value] : call.env()) {
    (*workload.mutable_run_env())[key] = value;
  }
  if (!call.stdin().empty()) workload.set_stdin(call.stdin());
  if (call.has_timeout()) *workload.mutable_timeout() = call.timeout();
  return run;
}

}  // namespace

void FunctionsHandler::Deploy(const httplib::Request& request,
                              httplib::Response& response) {
  absl::StatusOr<DeployRequest> deploy = DecodeDeployRequest(request.body);
  if (!deploy.ok()) return Refuse(deploy.status(), response);
  const v1::Workload& workload = deploy->run.workload();
  if (SourceBytes(workload) > kMaxCodeBytes) {
    return RefuseTooLarge(
        workload.files().empty() ? "workload.code" : "workload.files",
        SourceBytes(workload), kMaxCodeBytes, response);
  }
  // What the VMM would refuse is never stored as a version.
  if (absl::Status s = ValidateWorkloadSource(workload, kMaxCodeBytes);
      !s.ok()) {
    return Refuse(s, response);
  }
  if (absl::Status s = ValidateDebianPackages(workload.packages()); !s.ok()) {
    return Refuse(s, response);
  }
  v1::Workload stored = workload;
  stored.set_action(v1::ACTION_UNSPECIFIED);
  stored.set_name(deploy->name);
  absl::StatusOr<uint64_t> version =
      registry_->AddVersion(deploy->name, stored);
  if (!version.ok()) {
    spdlog::warn("event=deploy_refused function={} error=\"{}\"", deploy->name,
                 version.status().ToString());
    return Refuse(version.status(), response);
  }
  spdlog::info("event=deploy function={} version={} language={}",
               deploy->name, *version,
               std::string(LanguageName(workload.language())));

  v1::RunRequest build = deploy->run;
  build.mutable_workload()->set_action(v1::PREPARE);
  build.mutable_workload()->set_name(deploy->name);
  auto deployed = std::make_shared<v1::Deployed>();
  deployed->set_name(deploy->name);
  deployed->set_version(*version);
  RunObserver observer;
  observer.on_end = [this, deployed](const v1::Result* result) {
    const bool built = result != nullptr && result->status() == v1::DONE;
    deployed->set_state(built ? v1::BUILD_STATE_READY : v1::BUILD_STATE_FAILED);
    deployed->set_message(
        result != nullptr ? result->message()
                          : "the build did not finish (refused, cancelled or "
                            "the VMM went away)");
    absl::Status recorded =
        registry_->SetBuildState(deployed->name(), deployed->version(),
                                 deployed->state(), deployed->message());
    spdlog::info("event=deployed function={} version={} state={} recorded={}",
                 deployed->name(), deployed->version(),
                 v1::BuildState_Name(deployed->state()), recorded.ok());
  };
  observer.last_frame = [deployed] {
    return SseMessageFrame("function", *deployed);
  };
  runs_->Stream(request, build, std::move(observer), response);
}

void FunctionsHandler::List(httplib::Response& response) {
  absl::StatusOr<std::vector<v1::Function>> functions = registry_->List();
  if (!functions.ok()) return Refuse(functions.status(), response);
  v1::FunctionList list;
  for (v1::Function& function : *functions) {
    *list.add_functions() = std::move(function);
  }
  SetMessageResponse(list, 200, response);
}

void FunctionsHandler::Show(const httplib::Request& request,
                            httplib::Response& response) {
  absl::StatusOr<v1::Function> function = registry_->Get(NameOf(request));
  if (!function.ok()) return Refuse(function.status(), response);
  SetMessageResponse(*function, 200, response);
}

void FunctionsHandler::Delete(const httplib::Request& request,
                              httplib::Response& response) {
  const std::string name = NameOf(request);
  if (absl::Status deleted = registry_->Delete(name); !deleted.ok()) {
    return Refuse(deleted, response);
  }
  spdlog::info("event=function_deleted function={}", name);
  response.status = 204;
}

void FunctionsHandler::Invoke(const httplib::Request& request,
                              httplib::Response& response) {
  const std::string name = NameOf(request);
  v1::InvokeRequest call;
  if (absl::Status parsed = ParseJsonBody(request.body, &call); !parsed.ok()) {
    return Refuse(parsed, response);
  }
  if (call.stdin().size() > kMaxStdinBytes) {
    return RefuseTooLarge("stdin", call.stdin().size(), kMaxStdinBytes,
                          response);
  }
  absl::StatusOr<StoredVersion> version = registry_->ReadyVersion(name);
  if (!version.ok()) return Refuse(version.status(), response);
  v1::RunRequest run = InvocationOf(*version, call);
  spdlog::info("event=invoke function={} version={}", name, version->version);
  metrics_->RecordInvocation(name);

  if (absl::StrContains(request.get_header_value("Accept"),
                        "application/json")) {
    return InvokeForJson(request, name, *version, run, response);
  }
  RunObserver observer;
  observer.on_end = [this, name](const v1::Result* result) {
    if (result == nullptr) return;
    if (absl::Status s = registry_->RecordInvocation(name, *result); !s.ok()) {
      spdlog::warn("event=invocation_not_recorded function={} error=\"{}\"",
                   name, s.ToString());
    }
  };
  runs_->Stream(request, run, std::move(observer), response);
}

void FunctionsHandler::InvokeForJson(const httplib::Request& request,
                                     const std::string& name,
                                     const StoredVersion& version,
                                     const v1::RunRequest& run,
                                     httplib::Response& response) {
  absl::StatusOr<std::unique_ptr<RunStream>> stream = vmm_->StartRun(run);
  if (!stream.ok()) return Refuse(stream.status(), response);
  absl::StatusOr<PeerWatch> peer =
      PeerWatch::Find(request.local_addr, request.local_port,
                      request.remote_addr, request.remote_port);
  v1::InvokeResponse answer;
  answer.set_function(name);
  answer.set_version(version.version);
  std::string out, err;
  std::optional<v1::Result> result;
  bool any_event = false;
  while (true) {
    v1::RunEvent event;
    RunStream::Next next = (*stream)->WaitForNext(kPeerCheckInterval, &event);
    if (next == RunStream::Next::kFinished) break;
    if (next == RunStream::Next::kTimedOut) {
      if (peer.ok() && peer->PeerGone()) {
        spdlog::info("event=client_gone function={} seen=peer_watch", name);
        (*stream)->Cancel();  // the VMM kills the VM
        return;
      }
      continue;
    }
    any_event = true;
    if (event.has_accepted()) answer.set_run_id(event.accepted().run_id());
    if (event.has_output() && event.output().stage() == v1::RUNNING) {
      (event.output().stream() == v1::STDERR ? err : out) +=
          event.output().data();
    }
    if (event.has_result()) result = event.result();
  }
  if (!result) {
    absl::Status status = (*stream)->status();
    if (status.ok()) status = absl::InternalError("the run ended without a result");
    metrics_->RecordOutcome(run.workload().language(),
                            any_event ? kOutcomeStreamError : kOutcomeRejected);
    return Refuse(status, response);
  }
  metrics_->RecordResult(run.workload().language(), *result);
  if (absl::Status s = registry_->RecordInvocation(name, *result); !s.ok()) {
    spdlog::warn("event=invocation_not_recorded function={} error=\"{}\"", name,
                 s.ToString());
  }
  if (IsValidUtf8(out)) {
    answer.set_stdout(out);
  } else {
    answer.set_stdout_base64(out);
  }
  if (IsValidUtf8(err)) {
    answer.set_stderr(err);
  } else {
    answer.set_stderr_base64(err);
  }
  answer.set_status(result->status());
  if (result->has_exit_code()) answer.set_exit_code(result->exit_code());
  if (result->has_signal()) answer.set_signal(result->signal());
  answer.set_reason(result->reason());
  answer.set_message(result->message());
  *answer.mutable_timings() = result->timings();
  *answer.mutable_telemetry() = result->telemetry();
  SetMessageResponse(answer, 200, response);
}

}  // namespace cloudlet::api
