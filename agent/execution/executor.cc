#include "agent/execution/executor.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "agent/execution/oom_watch.h"
#include "agent/execution/stage_runner.h"
#include "common/ids.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "common/read_file.h"
#include "common/run_limits.h"
#include "common/workload_names.h"
#include "common/workload_source.h"
#include "spdlog/spdlog.h"

namespace cloudlet::agent {
namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// base, then overrides in order; a later KEY replaces an earlier one in
// place, so the result has each key once.
std::vector<std::string> MergeEnv(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  absl::flat_hash_map<std::string, size_t> index;
  auto put = [&](absl::string_view key, absl::string_view entry) {
    auto [it, inserted] = index.try_emplace(std::string(key), env.size());
    if (inserted) {
      env.emplace_back(entry);
    } else {
      env[it->second] = std::string(entry);
    }
  };
  for (const std::string& entry : base) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    put(absl::string_view(entry).substr(0, eq), entry);
  }
  for (const auto& [key, value] : overrides) {
    put(key, absl::StrCat(key, "=", value));
  }
  return env;
}

absl::string_view EnvValue(const std::vector<std::string>& env,
                           absl::string_view key) {
  for (const std::string& entry : env) {
    absl::string_view view(entry);
    if (view.size() > key.size() && view[key.size()] == '=' &&
        view.substr(0, key.size()) == key) {
      return view.substr(key.size() + 1);
    }
  }
  return "";
}

absl::Status CreateDirectory(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", path.string(),
                                            ": ", error.message()));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::filesystem::path& path,
                       absl::string_view content) {
  if (absl::Status s = CreateDirectory(path.parent_path()); !s.ok()) return s;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(content.data(), static_cast<std::streamsize>(content.size()));
  file.close();
  if (!file) {
    return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  return absl::OkStatus();
}

// Mode 0755 or 0644.
absl::Status SetExecutable(const std::filesystem::path& path, bool executable) {
  std::error_code error;
  std::filesystem::permissions(path,
                               executable ? std::filesystem::perms(0755)
                                          : std::filesystem::perms(0644),
                               error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "cannot set the mode of ", path.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

// Gives `root` and everything under it to `owner`.
absl::Status ChownTree(const std::filesystem::path& root, const RunAs& owner) {
  auto chown = [&](const std::filesystem::path& path) -> absl::Status {
    if (::lchown(path.c_str(), owner.uid, owner.gid) != 0) {
      return absl::InternalError(absl::StrCat("cannot give ", path.string(),
                                              " to uid ", owner.uid, ": ",
                                              std::strerror(errno)));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = chown(root); !s.ok()) return s;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(root, error);
       !error && it != std::filesystem::recursive_directory_iterator();
       it.increment(error)) {
    if (absl::Status s = chown(it->path()); !s.ok()) return s;
  }
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot list ", root.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

void SetTermination(const ExitStatus& status, v1::Result& result) {
  if (status.killed_by_signal()) {
    result.set_signal(status.signal);
  } else {
    result.set_exit_code(status.code);
  }
}

// Builds one run's Result and sends its events; lives on the run's thread.
class RunSession {
 public:
  RunSession(const PreparedRun& run, const ExecutorOptions& options,
             RunControl& control, EventSink& sink)
      : run_(run),
        options_(options),
        control_(control),
        sink_(sink),
        started_(absl::Now()),
        deadline_(started_ + run.timeout),
        budget_(run.output_limit_bytes) {}

  v1::Result Run() {
    v1::ExecuteEvent accepted;
    accepted.mutable_accepted()->set_run_id(run_.request.run_id());
    sink_.Send(accepted);
    Execute();
    SetDuration(absl::Now() - started_,
                result_.mutable_timings()->mutable_total());
    v1::ExecuteEvent event;
    *event.mutable_result() = result_;
    sink_.Send(event);
    // Removed after the Result is out: the caller need not wait for it
    // (a VM's caller destroys the VM on the Result; a Rust build's tree
    // takes a while to delete under TCG), and Run() still returns only
    // once the work root is empty again.
    dir_.reset();
    return result_;
  }

 private:
  void Execute() {
    absl::StatusOr<TempDir> created = TempDir::Create(
        absl::StrCat("run-", run_.request.run_id(), "-"), options_.work_root);
    if (!created.ok())
      return Fail(v1::INTERNAL_ERROR, v1::PENDING,
                  std::string(created.status().message()));
    const TempDir& dir = dir_.emplace(*std::move(created));
    std::filesystem::path work = dir.path() / "work";
    std::filesystem::path tmp = dir.path() / "tmp";
    if (absl::Status s = CreateDirectory(tmp); !s.ok()) {
      return Fail(v1::INTERNAL_ERROR, v1::PENDING, std::string(s.message()));
    }
    for (const auto& [name, content] : run_.plan.files) {
      if (absl::Status s = WriteFile(work / name, content); !s.ok()) {
        return Fail(v1::INTERNAL_ERROR, v1::PENDING, std::string(s.message()));
      }
    }
    for (const std::string& name : run_.plan.executable_files) {
      if (absl::Status s = SetExecutable(work / name, true); !s.ok()) {
        return Fail(v1::INTERNAL_ERROR, v1::PENDING, std::string(s.message()));
      }
    }
    const bool cached_build = run_.build && run_.request.has_prebuilt();
    if (cached_build) {
      if (absl::Status s = WritePrebuilt(work); !s.ok()) {
        return Fail(v1::INTERNAL_ERROR, v1::PENDING, std::string(s.message()));
      }
    }
    std::vector<std::pair<std::string, std::string>> run_env = {
        {"TMPDIR", tmp.string()}};
    if (options_.run_as) {
      std::filesystem::path home = dir.path() / "home";
      if (absl::Status s = CreateDirectory(home); !s.ok()) {
        return Fail(v1::INTERNAL_ERROR, v1::PENDING, std::string(s.message()));
      }
      if (!run_.request.workload().env().contains("HOME")) {
        run_env.emplace_back("HOME", home.string());
      }
      if (absl::Status s = ChownTree(dir.path(), *options_.run_as); !s.ok()) {
        return Fail(v1::INTERNAL_ERROR, v1::PENDING, std::string(s.message()));
      }
    }
    std::vector<std::string> env = MergeEnv(run_.env, run_env);

    if (cached_build) {
      result_.mutable_telemetry()->set_build_cached(true);
      if (!AnnounceCachedBuild()) return;
      if (!run_.run) return Done(v1::BUILDING, "build cached");
    } else if (run_.build) {
      std::optional<StageOutcome> built =
          Stage(v1::BUILDING, run_.plan.build->argv, work, env, "");
      if (!built) return;
      SetDuration(built->elapsed, result_.mutable_timings()->mutable_build());
      if (built->end != StageEnd::kExited) return Ended(*built, v1::BUILDING);
      if (!built->status.success()) {
        SetTermination(built->status, result_);
        return Fail(v1::BUILD_FAILED, v1::BUILDING,
                    absl::StrCat("build failed: `", run_.plan.build->Display(),
                                 "` ended with ", built->status.ToString(),
                                 OomNote()));
      }
      if (run_.request.return_build()) SendBuildOutputs(work);
      if (!run_.run) {
        SetTermination(built->status, result_);
        return Done(v1::BUILDING, "build succeeded");
      }
    }
    if (!run_.run) {
      return Done(v1::PENDING,
                  absl::StrCat(LanguageName(run_.request.workload().language()),
                               " has no build stage: nothing to prepare"));
    }
    std::vector<std::string> argv = run_.plan.run.argv;
    const auto& args = run_.request.workload().args();
    argv.insert(argv.end(), args.begin(), args.end());
    // The program's own env (run_env) goes on top; the build never saw it.
    const auto& run_only = run_.request.workload().run_env();
    std::vector<std::string> program_env = MergeEnv(
        env, std::vector<std::pair<std::string, std::string>>(
                 run_only.begin(), run_only.end()));
    std::optional<StageOutcome> ran = Stage(v1::RUNNING, argv, work,
                                            program_env,
                                            run_.request.workload().stdin());
    if (!ran) return;
    SetDuration(ran->elapsed, result_.mutable_timings()->mutable_run());
    RecordUsage(*ran);
    if (ran->end != StageEnd::kExited) return Ended(*ran, v1::RUNNING);
    SetTermination(ran->status, result_);
    Done(v1::RUNNING, absl::StrCat("the program ended with ",
                                   ran->status.ToString(), OomNote()));
  }

  // The program's CPU time, memory and output in the result's telemetry.
  void RecordUsage(const StageOutcome& ran) {
    v1::Telemetry& telemetry = *result_.mutable_telemetry();
    telemetry.set_stdout_bytes(ran.stdout_bytes);
    telemetry.set_stderr_bytes(ran.stderr_bytes);
    if (!ran.usage) return;
    SetDuration(ran.usage->user_cpu, telemetry.mutable_cpu_user());
    SetDuration(ran.usage->system_cpu, telemetry.mutable_cpu_system());
    telemetry.set_peak_memory_bytes(ran.usage->max_rss_bytes);
  }

  // Writes the request's prebuilt program (checked by Prepare to be the
  // plan's build outputs) where the build would have left it.
  absl::Status WritePrebuilt(const std::filesystem::path& work) {
    for (const v1::File& file : run_.request.prebuilt().files()) {
      std::filesystem::path path = work / file.path();
      if (absl::Status s = WriteFile(path, file.content()); !s.ok()) return s;
      if (absl::Status s = SetExecutable(path, file.executable()); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  // The BUILDING stage of a run whose build came from the cache: announced
  // (cached) so that clients see the stages they expect, with nothing run.
  // False when the run must not go on (the result is set).
  bool AnnounceCachedBuild() {
    if (std::optional<StopRequest> stop = control_.stop_request()) {
      Fail(stop->reason, v1::BUILDING, stop->message);
      return false;
    }
    v1::ExecuteEvent change;
    change.mutable_stage()->set_stage(v1::BUILDING);
    change.mutable_stage()->set_cached(true);
    change.mutable_stage()->set_detail(
        absl::StrCat("cached build (`", run_.plan.build->Display(),
                     "` not run)"));
    sink_.Send(change);
    return true;
  }

  // Sends the build's outputs as a `built` event for the caller to keep.
  // Best effort: an output that cannot be read or is over the cap is
  // logged and nothing is sent; the run goes on either way.
  void SendBuildOutputs(const std::filesystem::path& work) {
    v1::ExecuteEvent event;
    v1::BuiltProgram& program = *event.mutable_built();
    uint64_t bytes = 0;
    for (const std::string& output : run_.plan.build_outputs) {
      absl::StatusOr<std::string> content =
          ReadFileUpTo(work / output, kMaxBuiltProgramBytes - bytes);
      if (!content.ok()) {
        spdlog::warn("run={} event=build_output_not_sent output={} error=\"{}\"",
                     control_.run_id(), output,
                     std::string(content.status().message()));
        return;
      }
      bytes += content->size();
      v1::File& file = *program.add_files();
      file.set_path(output);
      file.set_content(*std::move(content));
      file.set_executable(::access((work / output).c_str(), X_OK) == 0);
    }
    spdlog::debug("run={} event=build_output_sent files={} bytes={}",
                  control_.run_id(), program.files_size(), bytes);
    sink_.Send(event);
  }

  // Runs one stage; nullopt when it could not start (the result is set).
  std::optional<StageOutcome> Stage(v1::Stage stage,
                                    const std::vector<std::string>& argv,
                                    const std::filesystem::path& cwd,
                                    const std::vector<std::string>& env,
                                    const std::string& stdin_data) {
    if (std::optional<StopRequest> stop = control_.stop_request()) {
      Fail(stop->reason, stage, stop->message);
      return std::nullopt;
    }
    if (absl::Now() >= deadline_) {
      Fail(v1::TIMEOUT, stage, TimeoutMessage());
      return std::nullopt;
    }
    v1::ExecuteEvent change;
    change.mutable_stage()->set_stage(stage);
    change.mutable_stage()->set_detail(PlannedCommand{argv}.Display());
    sink_.Send(change);
    SPDLOG_DEBUG("run={} stage={} argv={}", control_.run_id(), StageName(stage),
                 PlannedCommand{argv}.Display());

    StageSpec spec;
    spec.stage = stage;
    spec.spawn.argv = argv;
    spec.spawn.cwd = cwd;
    spec.spawn.env = env;
    spec.stdin_data = stdin_data;
    if (options_.run_as) {
      spec.spawn.uid = options_.run_as->uid;
      spec.spawn.gid = options_.run_as->gid;
      spec.spawn.oom_score_adj = 0;
      rlim_t processes = options_.max_processes;
      spec.spawn.rlimits.emplace_back(RLIMIT_NPROC, rlimit{processes, processes});
    }
    OomWatch oom;
    absl::StatusOr<StageOutcome> outcome =
        RunStage(spec, deadline_, control_, budget_, sink_);
    oom_victims_ = oom.Victims();
    if (!outcome.ok()) {
      Fail(v1::INTERNAL_ERROR, stage,
           absl::StrCat("cannot start `", argv[0],
                        "`: ", outcome.status().message()));
      return std::nullopt;
    }
    return *outcome;
  }

  // A stage that did not end by itself.
  void Ended(const StageOutcome& outcome, v1::Stage stage) {
    SetTermination(outcome.status, result_);
    switch (outcome.end) {
      case StageEnd::kExited:
        break;
      case StageEnd::kTimedOut:
        return Fail(v1::TIMEOUT, stage, TimeoutMessage());
      case StageEnd::kOutputLimit:
        return Fail(
            v1::OUTPUT_LIMIT, stage,
            absl::StrCat("the output passed the limit of ", budget_.limit(),
                         " bytes; the workload was stopped"));
      case StageEnd::kReceiverGone:
        return Fail(v1::CANCELLED, stage, "the caller cancelled the run");
      case StageEnd::kStopped: {
        std::optional<StopRequest> stop = control_.stop_request();
        return Fail(stop ? stop->reason : v1::CANCELLED, stage,
                    stop ? stop->message : "stopped");
      }
    }
  }

  // "; the guest ran out of memory and ..." when the kernel's OOM killer
  // killed processes during the last stage, else "".
  std::string OomNote() const {
    if (oom_victims_.empty()) return "";
    constexpr size_t kNamed = 3;
    std::vector<std::string> named(
        oom_victims_.begin(),
        oom_victims_.begin() + std::min(kNamed, oom_victims_.size()));
    return absl::StrCat(
        "; the guest ran out of memory and the kernel's OOM killer killed ",
        absl::StrJoin(named, ", "),
        oom_victims_.size() > kNamed
            ? absl::StrCat(" and ", oom_victims_.size() - kNamed, " more")
            : "",
        "; give the VM more memory ([vm] memory-mib)");
  }

  std::string TimeoutMessage() const {
    return absl::StrCat("timed out after ", absl::FormatDuration(run_.timeout),
                        "; the workload's processes were killed");
  }

  void Fail(v1::Reason reason, v1::Stage stage, std::string message) {
    result_.set_status(v1::FAILED);
    result_.set_ended_in(stage);
    result_.set_reason(reason);
    result_.set_message(std::move(message));
  }

  void Done(v1::Stage stage, std::string message) {
    result_.set_status(v1::DONE);
    result_.set_ended_in(stage);
    result_.set_reason(v1::EXITED);
    result_.set_message(std::move(message));
  }

  const PreparedRun& run_;
  const ExecutorOptions& options_;
  RunControl& control_;
  EventSink& sink_;
  const absl::Time started_;
  const absl::Time deadline_;
  OutputBudget budget_;
  std::vector<std::string> oom_victims_;  // of the last stage
  std::optional<TempDir> dir_;             // the run's work dir
  v1::Result result_;
};

}  // namespace

Executor::Executor(ExecutorOptions options) : options_(std::move(options)) {}

absl::StatusOr<PreparedRun> Executor::Prepare(
    v1::ExecuteRequest request) const {
  if (absl::Status s = ValidateExecuteRequest(request, options_.request_limits);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<LanguagePlan> plan = PlanWorkload(request.workload());
  if (!plan.ok()) return plan.status();

  PreparedRun run;
  const v1::Workload& workload = request.workload();
  std::vector<std::pair<std::string, std::string>> overrides = plan->env;
  for (const auto& [key, value] : workload.env()) {
    overrides.emplace_back(key, value);
  }
  run.env = MergeEnv(options_.base_env, overrides);
  absl::string_view path = EnvValue(run.env, "PATH");
  for (const std::string& tool : plan->required_tools) {
    if (!FindExecutable(tool, path).ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          LanguageName(workload.language()), " needs `", tool,
          "`, which is not installed here (not found in PATH=", path,
          "); use a runtime image that has it"));
    }
  }

  absl::Duration timeout = FromProto(workload.timeout());
  run.timeout = timeout > absl::ZeroDuration()
                    ? std::min(timeout, options_.max_timeout)
                    : options_.default_timeout;
  run.output_limit_bytes =
      workload.output_limit_bytes() > 0
          ? std::min(workload.output_limit_bytes(), options_.output_limit_bytes)
          : options_.output_limit_bytes;
  v1::Action action = workload.action() == v1::ACTION_UNSPECIFIED
                          ? v1::PREPARE_AND_RUN
                          : workload.action();
  run.run = action != v1::PREPARE;
  run.build =
      plan->build.has_value() && (action != v1::RUN || plan->run_needs_build);
  run.plan = *std::move(plan);
  if (request.run_id().empty()) request.set_run_id(NewRunId());
  run.request = std::move(request);
  return run;
}

v1::Result Executor::Run(const PreparedRun& run, RunControl& control,
                         EventSink& sink) const {
  const v1::Workload& workload = run.request.workload();
  spdlog::info(
      "run={} event=accepted language={} action={} source_bytes={} files={} "
      "prebuilt={} timeout={} output_limit={}",
      run.request.run_id(), std::string(LanguageName(workload.language())),
      std::string(ActionName(workload.action())), SourceBytes(workload),
      workload.files_size(),
      run.request.has_prebuilt(),
      absl::FormatDuration(run.timeout), run.output_limit_bytes);
  v1::Result result = RunSession(run, options_, control, sink).Run();
  spdlog::info(
      "run={} event=finished status={} ended_in={} reason={} {}={} "
      "total_ms={}",
      run.request.run_id(), StageName(result.status()),
      StageName(result.ended_in()), ReasonName(result.reason()),
      result.has_signal() ? "signal" : "exit_code",
      result.has_signal() ? result.signal() : result.exit_code(),
      absl::ToInt64Milliseconds(FromProto(result.timings().total())));
  return result;
}

}  // namespace cloudlet::agent
