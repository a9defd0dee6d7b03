#include "vmm/run/runner.h"

#include <sys/random.h>

#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/sync/poll.h"
#include "common/workload_names.h"
#include "common/workload_source.h"
#include "vmm/run/proto_time.h"
#include "spdlog/spdlog.h"

namespace cloudlet::vmm {
namespace {

// Why a run ended VM_DIED: its VM's process (QEMU, or a host agent)
// exited while the workload ran.
constexpr char kVmDiedMessage[] =
    "the VM died while the workload ran (its process exited); see the "
    "console tail";

// What the guest's kernel gets to reseed its random generator with (see
// ExecuteRequest.host_entropy): 256 bits, as much as a reseed uses.
constexpr size_t kHostEntropyBytes = 32;

// kHostEntropyBytes from the host kernel's generator; empty in the
// (theoretical) case that it fails, which leaves the guest's state as is.
std::string HostEntropy() {
  std::string bytes(kHostEntropyBytes, '\0');
  ssize_t n = ::getrandom(bytes.data(), bytes.size(), 0);
  if (n != static_cast<ssize_t>(bytes.size())) return "";
  return bytes;
}

// Watches one run from a helper thread and cancels it when its caller goes
// away, its execution deadline passes, or its VM dies. The run's thread
// tells it what to watch as the run moves on.
class Watchdog {
 public:
  Watchdog(absl::Duration interval, CancelToken caller_gone,
           Cancellation* cancel)
      : interval_(interval),
        caller_gone_(std::move(caller_gone)),
        cancel_(cancel),
        thread_([this] { Loop(); }) {}

  ~Watchdog() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
      wake_.Signal();
    }
    thread_.join();
  }

  // Watches `vm` (nullptr: stops watching; required before the VM dies).
  void WatchVm(const Vm* vm) {
    absl::MutexLock lock(&mu_);
    vm_ = vm;
  }

  // Cancels the run with TIMEOUT once `deadline` passes.
  void SetDeadline(absl::Time deadline, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    deadline_ = deadline;
    timeout_ = timeout;
  }

 private:
  void Loop() {
    absl::MutexLock lock(&mu_);
    while (!stop_) {
      wake_.WaitWithTimeout(&mu_, interval_);
      if (stop_) break;
      if (caller_gone_.cancelled()) {
        cancel_->Cancel(v1::CANCELLED,
                        "cancelled by the caller (it went away or its "
                        "deadline passed); the VM was killed");
      } else if (absl::Now() >= deadline_) {
        cancel_->Cancel(v1::TIMEOUT,
                        absl::StrCat("timed out after ",
                                     absl::FormatDuration(timeout_),
                                     "; the VM was killed"));
      } else if (vm_ != nullptr && vm_->Exited()) {
        cancel_->Cancel(v1::VM_DIED,
                        kVmDiedMessage);
      }
    }
  }

  const absl::Duration interval_;
  const CancelToken caller_gone_;
  Cancellation* const cancel_;
  absl::Mutex mu_;
  absl::CondVar wake_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  const Vm* vm_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Time deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Duration timeout_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is set up
};

// Counts one VM in `gauge` while it exists: declared before the VM, it
// outlives it.
class CountedVm {
 public:
  explicit CountedVm(std::atomic<int>& gauge) : gauge_(gauge) { ++gauge_; }
  CountedVm(const CountedVm&) = delete;
  CountedVm& operator=(const CountedVm&) = delete;
  ~CountedVm() { --gauge_; }

 private:
  std::atomic<int>& gauge_;
};

// How a run ended, decided before its VM is destroyed and reported after.
struct Ending {
  bool agent_result = false;  // the agent's Result says it all
  v1::Reason reason = v1::INTERNAL_ERROR;
  std::string message;
  std::string console_tail;
};

Ending FromCause(const Cancellation& cancel) {
  std::optional<CancelCause> cause = cancel.cause();
  if (!cause) return {false, v1::INTERNAL_ERROR, "run stopped without a cause", ""};
  return {false, cause->reason, cause->message, ""};
}

// The steps of one run between Accepted and Result. The VM lives inside
// Drive(), so it is gone when Drive() returns, whatever happened.
class RunLifecycle {
 public:
  RunLifecycle(const RunnerOptions& options, ArtifactCache* artifacts,
               BuildCache* builds, VmProvider* vms, const ResolvedRun& run,
               EventRelay& relay, Cancellation& cancel, Watchdog& watchdog,
               SlotLimiter::Ticket& ticket, std::atomic<int>& vms_running)
      : options_(options),
        artifacts_(artifacts),
        builds_(builds),
        vms_(vms),
        run_(run),
        relay_(relay),
        cancel_(cancel),
        watchdog_(watchdog),
        ticket_(ticket),
        vms_running_(vms_running) {}

  Ending Drive() {
    std::optional<GuestArtifacts> artifacts;
    if (std::optional<Ending> ending = Prepare(artifacts)) return *ending;
    FindBuild(*artifacts);
    if (std::optional<Ending> ending = Queue()) return *ending;
    CountedVm counted(vms_running_);  // from the start of the boot
    std::unique_ptr<Vm> vm;
    if (std::optional<Ending> ending = Boot(*artifacts, vm)) return *ending;
    Ending ending = Execute(*vm);
    watchdog_.WatchVm(nullptr);
    return ending;  // `vm` dies here: QEMU killed, its state removed
  }

 private:
  bool cancelled() const { return cancel_.cancelled(); }

  std::optional<Ending> Prepare(std::optional<GuestArtifacts>& out) {
    relay_.Stage(v1::PREPARING,
                 absl::StrCat("finding or building the guest artifacts for ",
                              LanguageName(run_.workload.language())));
    absl::Time start = clock_->Now();
    absl::StatusOr<GuestArtifacts> artifacts = artifacts_->Ensure(
        Runtime(run_.workload.language(),
                CanonicalPackages(run_.workload.packages())),
        [this](const v1::Progress& progress) { relay_.Progress(progress); },
        cancel_token_);
    relay_.timings().prepare = clock_->Now() - start;
    if (cancelled()) return FromCause(cancel_);
    if (!artifacts.ok()) {
      return Ending{false, v1::PREPARE_FAILED,
                    absl::StrCat("preparing the guest artifacts failed: ",
                                 artifacts.status().message()),
                    ""};
    }
    out = *std::move(artifacts);
    return std::nullopt;
  }

  // Looks the workload's build up in the build cache (unless there is
  // none, or the workload asks for a rebuild).
  void FindBuild(const GuestArtifacts& artifacts) {
    if (builds_ == nullptr) return;
    build_key_ = BuildCache::KeyOf(run_.workload, artifacts.runtime_key);
    if (run_.workload.rebuild()) {
      spdlog::info("run={} event=build_cache_skipped entry={} why=rebuild",
                   relay_.run_id(), CacheStore::EntryName(*build_key_));
      return;
    }
    cached_build_ = builds_->Find(*build_key_);
    spdlog::info("run={} event=build_cache_{} entry={}", relay_.run_id(),
                 cached_build_ ? "hit" : "miss",
                 CacheStore::EntryName(*build_key_));
  }

  // Keeps the build output the agent sent. Best effort: the run goes on
  // whether it is kept or not.
  void StoreBuild(const v1::BuiltProgram& program) {
    if (builds_ == nullptr || !build_key_) return;
    absl::Status stored = builds_->Store(*build_key_, program);
    if (stored.ok()) {
      spdlog::info("run={} event=build_cached entry={} bytes={}",
                   relay_.run_id(), CacheStore::EntryName(*build_key_),
                   program.ByteSizeLong());
    } else {
      spdlog::warn("run={} event=build_not_cached entry={} error=\"{}\"",
                   relay_.run_id(), CacheStore::EntryName(*build_key_),
                   std::string(stored.message()));
    }
  }

  std::optional<Ending> Queue() {
    if (ticket_.holds_slot()) return std::nullopt;
    absl::Time start = clock_->Now();
    absl::Status waited = ticket_.WaitForSlot(
        cancel_token_,
        [this](int position) {
          relay_.Stage(v1::QUEUED,
                       absl::StrCat("waiting for a VM slot (position ",
                                    position, ")"));
        },
        options_.watch_interval);
    relay_.timings().queue = clock_->Now() - start;
    if (cancelled()) return FromCause(cancel_);
    if (absl::IsUnavailable(waited)) {
      return Ending{false, v1::SHUTTING_DOWN, std::string(waited.message()),
                    ""};
    }
    if (!waited.ok()) {
      return Ending{false, v1::INTERNAL_ERROR, std::string(waited.message()),
                    ""};
    }
    return std::nullopt;
  }

  std::optional<Ending> Boot(const GuestArtifacts& artifacts,
                             std::unique_ptr<Vm>& out) {
    relay_.Stage(v1::BOOTING,
                 absl::StrCat("starting a ", AccelName(vms_->accel()),
                              " microVM (", run_.memory_mib, " MiB, ",
                              run_.vcpus, " vCPU)"));
    VmRequest request;
    request.run_id = relay_.run_id();
    request.artifacts = artifacts;
    request.memory_mib = run_.memory_mib;
    request.vcpus = run_.vcpus;
    request.agent_port = run_.agent_port;
    // Deadlines go to QEMU and gRPC, which keep the real clock; the run's
    // clock only times it.
    request.ready_by = absl::Now() + options_.boot_timeout;
    absl::Time start = clock_->Now();
    std::string console_tail;
    absl::StatusOr<std::unique_ptr<Vm>> vm = vms_->Acquire(
        request, cancel_token_, &console_tail);
    absl::Duration boot_time = clock_->Now() - start;
    relay_.timings().boot = boot_time;
    if (cancelled()) return FromCause(cancel_);
    if (!vm.ok()) {
      return Ending{false, v1::BOOT_FAILED,
                    absl::StrCat("the VM did not boot: ", vm.status().message()),
                    console_tail};
    }
    out = *std::move(vm);
    watchdog_.WatchVm(out.get());
    relay_.Booted(AccelName(out->accel()), boot_time, run_.memory_mib,
                  run_.vcpus, out->resumed());
    return std::nullopt;
  }

  Ending Execute(Vm& vm) {
    if (cancelled()) return FromCause(cancel_);
    v1::ExecuteRequest request;
    request.set_run_id(relay_.run_id());
    *request.mutable_workload() = run_.workload;
    // A VM resumed from a snapshot wakes with the snapshot's clock and
    // random state, the same in every VM resumed from it: the agent sets
    // both from these before the workload starts.
    // The host's real wall clock, whatever clock times the run.
    *request.mutable_host_time() = ToProtoTimestamp(absl::Now());
    request.set_host_entropy(HostEntropy());
    if (cached_build_) {
      *request.mutable_prebuilt() = cached_build_->program;
    } else if (build_key_) {
      request.set_return_build(true);
    }

    // The agent enforces the timeout itself and reports TIMEOUT; the
    // watchdog is the backstop for an agent that cannot.
    absl::Time deadline = absl::Now() + run_.timeout + options_.agent_grace;
    watchdog_.SetDeadline(deadline, run_.timeout);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline + absl::Seconds(1)));
    absl::Status status;
    {
      Cancellation::HookGuard hook =
          cancel_.OnCancel([&context] { context.TryCancel(); });
      status = vm.agent().Execute(
          context, request,
          [this](const v1::ExecuteEvent& event) {
            if (event.has_built()) return StoreBuild(event.built());
            relay_.FromAgent(event);
          });
    }
    if (relay_.has_agent_result()) return Ending{true, v1::EXITED, "", ""};

    if (!cancelled()) {
      // The stream broke without a result: a dying VM closes it before its
      // process is gone, so give that process a moment to be seen exiting.
      (void)PollUntil("the VM to exit", absl::Now() + absl::Seconds(1),
                      [&vm]() -> absl::StatusOr<bool> { return vm.Exited(); });
      if (vm.Exited()) {
        cancel_.Cancel(v1::VM_DIED,
                       kVmDiedMessage);
      }
    }
    Ending ending;
    if (cancelled()) {
      ending = FromCause(cancel_);
    } else {
      ending.reason = v1::INTERNAL_ERROR;
      ending.message = absl::StrCat("lost the agent inside the VM: ",
                                    absl::StatusCodeToString(status.code()),
                                    ": ", status.message());
    }
    if (ending.reason == v1::VM_DIED || ending.reason == v1::INTERNAL_ERROR) {
      ending.console_tail = vm.ConsoleTail(options_.console_tail_lines);
    }
    return ending;
  }

  const RunnerOptions& options_;
  const Clock* const clock_ = options_.clock;  // times the run's stages
  ArtifactCache* const artifacts_;
  BuildCache* const builds_;
  VmProvider* const vms_;
  const ResolvedRun& run_;
  EventRelay& relay_;
  Cancellation& cancel_;
  Watchdog& watchdog_;
  SlotLimiter::Ticket& ticket_;
  std::atomic<int>& vms_running_;
  std::optional<EntryKey> build_key_;         // set when builds are kept
  std::optional<CachedBuild> cached_build_;  // leased until the run ends
  // What every wait of the run checks; it lives as long as cancel_.
  const CancelToken cancel_token_ = cancel_.token();
};

}  // namespace

// Keeps a run's Cancellation in the Runner's registry while it is in
// flight, so shutdown can reach it.
class Runner::Registration {
 public:
  Registration(Runner* runner, Cancellation* cancel)
      : runner_(runner), cancel_(cancel) {
    absl::MutexLock lock(&runner_->mu_);
    runner_->active_.insert(cancel_);
  }
  ~Registration() {
    absl::MutexLock lock(&runner_->mu_);
    runner_->active_.erase(cancel_);
    if (runner_->active_.empty()) runner_->idle_.SignalAll();
  }

 private:
  Runner* const runner_;
  Cancellation* const cancel_;
};

Runner::Runner(RunnerOptions options, ArtifactCache* artifacts,
               BuildCache* builds, VmProvider* vms, SlotLimiter* slots)
    : options_(options),
      artifacts_(artifacts),
      builds_(builds),
      vms_(vms),
      slots_(slots) {}

absl::Status Runner::Run(const v1::RunRequest& request, RunEventSink& sink,
                         CancelToken caller_gone) {
  const absl::Time started = options_.clock->Now();
  Cancellation cancel;
  Registration registration(this, &cancel);

  absl::StatusOr<ResolvedRun> run = ResolveRunRequest(request, options_.limits);
  if (run.ok()) {
    // Before admission: an unknown package costs no slot, VM or build.
    absl::Status known = artifacts_->CheckPackages(
        CanonicalPackages(run->workload.packages()));
    if (!known.ok()) run = known;
  }
  if (!run.ok()) {
    spdlog::info("event=run_rejected code={} reason=\"{}\"",
                 absl::StatusCodeToString(run.status().code()),
                 std::string(run.status().message()));
    return run.status();
  }
  absl::StatusOr<SlotLimiter::Ticket> ticket = slots_->Admit();
  if (ticket.ok() && cancel.cancelled()) {
    ticket = absl::UnavailableError(
        "the VMM is shutting down and takes no new runs");
  }
  if (!ticket.ok()) {
    spdlog::info("event=run_rejected code={} reason=\"{}\"",
                 absl::StatusCodeToString(ticket.status().code()),
                 std::string(ticket.status().message()));
    return ticket.status();
  }

  std::optional<SlotLimiter::Ticket> slot(*std::move(ticket));
  EventRelay relay(NewRunId(), options_.clock, started, &sink);
  spdlog::info(
      "run={} event=request language={} action={} source_bytes={} files={} "
      "packages={} timeout_ms={} memory_mib={} vcpus={}",
      relay.run_id(), std::string(LanguageName(run->workload.language())),
      std::string(ActionName(run->workload.action())),
      SourceBytes(run->workload), run->workload.files_size(),
      run->workload.packages_size(),
      absl::ToInt64Milliseconds(run->timeout), run->memory_mib, run->vcpus);
  relay.Accepted();
  ++runs_accepted_;
  Ending ending;
  {
    Watchdog watchdog(options_.watch_interval, std::move(caller_gone),
                      &cancel);
    ending = RunLifecycle(options_, artifacts_, builds_, vms_, *run, relay,
                          cancel, watchdog, *slot, vms_running_)
                 .Drive();
  }
  slot.reset();  // the VM is gone: the next run may have the slot
  if (ending.agent_result) {
    relay.FinishWithAgentResult();
  } else {
    relay.Fail(ending.reason, ending.message, ending.console_tail);
  }
  return absl::OkStatus();
}

void Runner::StopAdmitting() { slots_->Close(); }

void Runner::CancelAll(v1::Reason reason, absl::string_view message) {
  absl::MutexLock lock(&mu_);
  for (Cancellation* cancel : active_) {
    cancel->Cancel(reason, std::string(message));
  }
}

bool Runner::WaitUntilIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  while (!active_.empty()) {
    if (idle_.WaitWithDeadline(&mu_, deadline)) return active_.empty();
  }
  return true;
}

int Runner::in_flight() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(active_.size());
}

}  // namespace cloudlet::vmm
