// The run lifecycle against a real cloudlet-agent running on the host in
// place of a VM (fast, no QEMU); tests/vmm/ covers the same with real VMs.
#include "vmm/run/runner.h"

#include <signal.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/sync/poll.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/artifacts/build_cache.h"
#include "vmm/run/proto_time.h"
#include "vmm/vm/host_agent_provider.h"

namespace cloudlet::vmm {
namespace {

// Finds artifacts instantly, or fails, or blocks until cancelled.
class FakeArtifacts : public ArtifactCache {
 public:
  enum class Mode { kCached, kFail, kBlockUntilCancelled };
  explicit FakeArtifacts(Mode mode = Mode::kCached) : mode_(mode) {}

  absl::Status CheckPackages(const std::vector<std::string>&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<GuestArtifacts> Ensure(
      const Runtime& runtime, const ProgressCallback& progress,
      const CancelToken& cancel) override {
    v1::Progress step;
    step.set_artifact("kernel");
    step.set_message("cached");
    step.set_cached(true);
    progress(step);
    if (mode_ == Mode::kFail) {
      return absl::InternalError("kernel build failed: make: *** Error 2");
    }
    if (mode_ == Mode::kBlockUntilCancelled) {
      absl::Status waited =
          PollUntil("cancel", absl::Now() + absl::Seconds(30),
                    [&]() -> absl::StatusOr<bool> { return cancel.cancelled(); });
      if (!waited.ok()) return waited;
      return absl::CancelledError("cancelled");
    }
    return GuestArtifacts{"/dev/null", "/dev/null", "/dev/null",
                          /*runtime_key=*/"fake-runtime", /*lease=*/nullptr};
  }
  absl::StatusOr<std::filesystem::path> EnsureArtifact(
      absl::string_view, const ProgressCallback&, const CancelToken&) override {
    return absl::UnimplementedError("not in this fake");
  }
  std::vector<v1::ArtifactState> List() const override { return {}; }
  std::map<std::string, std::optional<std::string>> CurrentEntries()
      const override {
    return {};
  }
  const std::shared_ptr<CacheStore>& store() const override { return none_; }

 private:
  const Mode mode_;
  const std::shared_ptr<CacheStore> none_;
};

// A provider whose VMs never come up: the guest panics at boot.
class PanickingProvider : public VmProvider {
 public:
  absl::StatusOr<std::unique_ptr<Vm>> Acquire(
      const VmRequest&, const CancelToken&,
      std::string* console_tail) override {
    *console_tail = "Kernel panic - not syncing: VFS\n";
    return absl::UnavailableError("the VM exited before its agent answered");
  }
  Accel accel() const override { return Accel::kTcg; }
};

// Keeps every event; lets a test wait for one.
class RecordingSink : public RunEventSink {
 public:
  bool Send(const v1::RunEvent& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
    return true;
  }
  std::vector<v1::RunEvent> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // Waits until an event matching `match` arrived.
  bool WaitFor(const std::function<bool(const v1::RunEvent&)>& match,
               absl::Duration timeout = absl::Seconds(20)) {
    return PollUntil("event", absl::Now() + timeout,
                     [&]() -> absl::StatusOr<bool> {
                       for (const v1::RunEvent& event : events()) {
                         if (match(event)) return true;
                       }
                       return false;
                     })
        .ok();
  }
  v1::Result result() const {
    std::vector<v1::RunEvent> all = events();
    return all.empty() ? v1::Result() : all.back().result();
  }
  std::string stdout_text() const {
    std::string text;
    for (const v1::RunEvent& event : events()) {
      if (event.has_output() && event.output().stream() == v1::STDOUT) {
        text += event.output().data();
      }
    }
    return text;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::RunEvent> events_ ABSL_GUARDED_BY(mu_);
};

bool IsStage(const v1::RunEvent& event, v1::Stage stage) {
  return event.has_stage() && event.stage().stage() == stage;
}

v1::RunRequest C(const std::string& code) {
  v1::RunRequest request;
  request.mutable_workload()->set_language(v1::C);
  request.mutable_workload()->set_code(code);
  return request;
}

// The BUILDING stage change of a run, if it had one.
std::optional<v1::StageChange> BuildingStage(
    const std::vector<v1::RunEvent>& events) {
  for (const v1::RunEvent& event : events) {
    if (IsStage(event, v1::BUILDING)) return event.stage();
  }
  return std::nullopt;
}

v1::RunRequest Shell(const std::string& code,
                     absl::Duration timeout = absl::ZeroDuration()) {
  v1::RunRequest request;
  request.mutable_workload()->set_language(v1::SHELL);
  request.mutable_workload()->set_code(code);
  if (timeout > absl::ZeroDuration()) {
    *request.mutable_workload()->mutable_timeout() = ToProtoDuration(timeout);
  }
  return request;
}

bool ProcessGone(pid_t pid) {
  return PollUntil("process exit", absl::Now() + absl::Seconds(2),
                   [&]() -> absl::StatusOr<bool> {
                     return ::kill(pid, 0) != 0;
                   })
      .ok();
}

class RunnerTest : public ::testing::Test {
 protected:
  void Make(int max_running, int max_queue,
            FakeArtifacts::Mode artifacts = FakeArtifacts::Mode::kCached,
            bool fail_boot = false) {
    artifacts_ = std::make_unique<FakeArtifacts>(artifacts);
    absl::StatusOr<TempDir> runtime = TempDir::Create("runner-test-");
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_.emplace(*std::move(runtime));
    HostAgentProviderOptions host;
    host.agent_binary = CLOUDLET_AGENT_BINARY;
    host.runtime_dir = runtime_->path();
    agents_ = std::make_unique<HostAgentProvider>(host);
    panicking_ = std::make_unique<PanickingProvider>();
    VmProvider* provider = agents_.get();
    if (fail_boot) provider = panicking_.get();
    slots_ = std::make_unique<SlotLimiter>(max_running, max_queue);
    RunnerOptions options;
    options.agent_grace = absl::Seconds(2);
    absl::StatusOr<TempDir> cache = TempDir::Create("runner-test-cache-");
    ASSERT_TRUE(cache.ok()) << cache.status();
    cache_.emplace(*std::move(cache));
    absl::StatusOr<std::unique_ptr<CacheStore>> store =
        CacheStore::Open(cache_->path());
    ASSERT_TRUE(store.ok()) << store.status();
    builds_ = std::make_unique<BuildCache>(*std::move(store));
    runner_ = std::make_unique<Runner>(options, artifacts_.get(), builds_.get(),
                                       provider, slots_.get());
  }
  void SetUp() override { Make(2, 2); }

  // The pid of the last agent started: the last run's "VM".
  pid_t last_agent_pid() const {
    std::vector<pid_t> pids = agents_->agent_pids();
    return pids.empty() ? 0 : pids.back();
  }

  std::optional<TempDir> runtime_;  // outlives the runner and its VMs
  std::optional<TempDir> cache_;
  std::unique_ptr<BuildCache> builds_;
  std::unique_ptr<FakeArtifacts> artifacts_;
  std::unique_ptr<HostAgentProvider> agents_;
  std::unique_ptr<PanickingProvider> panicking_;
  std::unique_ptr<SlotLimiter> slots_;
  std::unique_ptr<Runner> runner_;
};

TEST_F(RunnerTest, StreamsEveryStageInOrderAndPassesTheExitCodeThrough) {
  RecordingSink sink;
  absl::Status status =
      runner_->Run(Shell("echo hello\nexit 3\n"), sink, {});
  ASSERT_TRUE(status.ok()) << status;

  std::vector<v1::RunEvent> events = sink.events();
  ASSERT_GE(events.size(), 6u);
  EXPECT_TRUE(events[0].has_accepted());
  EXPECT_FALSE(events[0].accepted().run_id().empty());
  EXPECT_TRUE(IsStage(events[1], v1::PREPARING));
  EXPECT_TRUE(events[2].has_progress());
  EXPECT_TRUE(IsStage(events[3], v1::BOOTING));
  EXPECT_TRUE(events[4].has_booted());
  EXPECT_EQ(events[4].booted().accel(), "host");
  int results = 0;
  for (const v1::RunEvent& event : events) results += event.has_result();
  EXPECT_EQ(results, 1);
  EXPECT_EQ(sink.stdout_text(), "hello\n");
  v1::Result result = sink.result();
  EXPECT_EQ(result.status(), v1::DONE);
  EXPECT_EQ(result.reason(), v1::EXITED);
  EXPECT_EQ(result.exit_code(), 3);
  EXPECT_TRUE(result.timings().has_prepare());
  EXPECT_TRUE(result.timings().has_boot());
  EXPECT_TRUE(result.timings().has_run());
  EXPECT_TRUE(result.timings().has_total());
  EXPECT_FALSE(result.timings().has_queue());
  EXPECT_TRUE(ProcessGone(last_agent_pid()));
}

TEST_F(RunnerTest, ASecondRunOfTheSameCodeUsesTheCachedBuild) {
  const std::string code =
      "#include <stdio.h>\nint main(){puts(\"built once\");return 4;}";
  RecordingSink first;
  ASSERT_TRUE(runner_->Run(C(code), first, {}).ok());
  EXPECT_EQ(first.result().exit_code(), 4);
  ASSERT_TRUE(BuildingStage(first.events()).has_value());
  EXPECT_FALSE(BuildingStage(first.events())->cached());
  EXPECT_EQ(builds_->counts().stored, 1u);
  for (const v1::RunEvent& event : first.events()) {
    EXPECT_FALSE(event.DebugString().find("built {") != std::string::npos)
        << "the agent's build output is the VMM's, not the caller's";
  }

  RecordingSink second;
  ASSERT_TRUE(runner_->Run(C(code), second, {}).ok());
  EXPECT_EQ(second.stdout_text(), "built once\n");
  EXPECT_EQ(second.result().exit_code(), 4);
  ASSERT_TRUE(BuildingStage(second.events()).has_value());
  EXPECT_TRUE(BuildingStage(second.events())->cached());
  EXPECT_FALSE(second.result().timings().has_build());
  EXPECT_TRUE(second.result().telemetry().build_cached());
  EXPECT_FALSE(first.result().telemetry().build_cached());
  EXPECT_TRUE(second.result().telemetry().has_vm_ready());
  EXPECT_FALSE(second.result().telemetry().vm_resumed());  // a host agent
  EXPECT_EQ(second.result().telemetry().stdout_bytes(), 11u);
  EXPECT_EQ(builds_->counts().hits, 1u);
}

TEST_F(RunnerTest, OneChangedByteRebuilds) {
  RecordingSink first, second;
  ASSERT_TRUE(runner_->Run(C("int main(){return 1;}"), first, {}).ok());
  ASSERT_TRUE(runner_->Run(C("int main(){return 2;}"), second, {}).ok());
  EXPECT_EQ(second.result().exit_code(), 2);
  EXPECT_FALSE(BuildingStage(second.events())->cached());
  EXPECT_EQ(builds_->counts().stored, 2u);
  EXPECT_EQ(builds_->counts().hits, 0u);
}

TEST_F(RunnerTest, AFailedBuildIsNeverCached) {
  for (int i = 0; i < 2; ++i) {
    RecordingSink sink;
    ASSERT_TRUE(runner_->Run(C("int main( {"), sink, {}).ok());
    EXPECT_EQ(sink.result().reason(), v1::BUILD_FAILED);
    EXPECT_FALSE(BuildingStage(sink.events())->cached());
  }
  EXPECT_EQ(builds_->counts().stored, 0u);
  EXPECT_EQ(builds_->counts().hits, 0u);
}

TEST_F(RunnerTest, RebuildSkipsTheCachedBuild) {
  const std::string code = "int main(){return 0;}";
  RecordingSink first, second;
  ASSERT_TRUE(runner_->Run(C(code), first, {}).ok());
  v1::RunRequest again = C(code);
  again.mutable_workload()->set_rebuild(true);
  ASSERT_TRUE(runner_->Run(again, second, {}).ok());
  EXPECT_EQ(second.result().status(), v1::DONE);
  EXPECT_FALSE(BuildingStage(second.events())->cached());
  EXPECT_TRUE(second.result().timings().has_build());
  EXPECT_EQ(builds_->counts().hits, 0u);
}

TEST_F(RunnerTest, RefusesABadRequestBeforeAnyEvent) {
  RecordingSink sink;
  absl::Status status = runner_->Run(Shell(""), sink, {});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(sink.events().empty());
}

TEST_F(RunnerTest, QueuesBeyondMaxVmsAndRefusesBeyondTheQueue) {
  Make(1, 1);
  RecordingSink first, second, third;
  std::thread first_run([&] {
    EXPECT_TRUE(
        runner_->Run(Shell("sleep 1; echo one\n"), first, {})
            .ok());
  });
  ASSERT_TRUE(first.WaitFor([](const v1::RunEvent& e) { return e.has_booted(); }));
  std::thread second_run([&] {
    EXPECT_TRUE(
        runner_->Run(Shell("echo two\n"), second, {}).ok());
  });
  ASSERT_TRUE(second.WaitFor(
      [](const v1::RunEvent& e) { return IsStage(e, v1::QUEUED); }));
  absl::Status refused =
      runner_->Run(Shell("echo three\n"), third, {});
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(third.events().empty());
  first_run.join();
  second_run.join();

  EXPECT_EQ(first.result().status(), v1::DONE);
  EXPECT_EQ(second.result().status(), v1::DONE);
  EXPECT_EQ(second.stdout_text(), "two\n");
  EXPECT_TRUE(second.result().timings().has_queue());
  bool saw_position = false;
  for (const v1::RunEvent& event : second.events()) {
    if (IsStage(event, v1::QUEUED)) {
      saw_position = event.stage().detail().find("position 1") !=
                     std::string::npos;
    }
  }
  EXPECT_TRUE(saw_position);
}

TEST_F(RunnerTest, CallerGoingAwayEndsTheRunCancelledAndKillsTheVm) {
  RecordingSink sink;
  std::atomic<bool> gone{false};
  absl::Time cancelled_at;
  std::thread canceller([&] {
    ASSERT_TRUE(sink.WaitFor([](const v1::RunEvent& e) {
      return e.has_output();
    }));
    cancelled_at = absl::Now();
    gone = true;
  });
  ASSERT_TRUE(runner_
                  ->Run(Shell("echo started; sleep 60\n"), sink,
                        CancelToken::FromProbe([&] { return gone.load(); }))
                  .ok());
  absl::Duration took = absl::Now() - cancelled_at;
  canceller.join();
  EXPECT_LT(took, absl::Seconds(1));
  EXPECT_EQ(sink.result().status(), v1::FAILED);
  EXPECT_EQ(sink.result().reason(), v1::CANCELLED);
  EXPECT_EQ(sink.result().ended_in(), v1::RUNNING);
  EXPECT_TRUE(ProcessGone(last_agent_pid()));
}

TEST_F(RunnerTest, CountsARunsVmWhileItExists) {
  EXPECT_EQ(runner_->vms_running(), 0);
  RecordingSink sink;
  std::atomic<bool> gone{false};
  std::thread run([&] {
    EXPECT_TRUE(runner_
                    ->Run(Shell("echo started; sleep 60\n"), sink,
                          CancelToken::FromProbe([&] { return gone.load(); }))
                    .ok());
  });
  ASSERT_TRUE(
      sink.WaitFor([](const v1::RunEvent& e) { return e.has_output(); }));
  EXPECT_EQ(runner_->vms_running(), 1);
  gone = true;
  run.join();
  EXPECT_EQ(runner_->vms_running(), 0);
}

TEST_F(RunnerTest, AWorkloadPastItsTimeoutEndsAsTimeout) {
  RecordingSink sink;
  absl::Time start = absl::Now();
  ASSERT_TRUE(runner_
                  ->Run(Shell("sleep 60\n", absl::Seconds(1)), sink,
                        {})
                  .ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(sink.result().status(), v1::FAILED);
  EXPECT_EQ(sink.result().reason(), v1::TIMEOUT);
}

TEST_F(RunnerTest, AVmThatDiesMidRunEndsVmDiedWithTheConsoleTail) {
  RecordingSink sink;
  std::thread killer([&] {
    ASSERT_TRUE(sink.WaitFor([](const v1::RunEvent& e) {
      return e.has_output();
    }));
    ::kill(last_agent_pid(), SIGKILL);
  });
  ASSERT_TRUE(runner_
                  ->Run(Shell("echo started; sleep 60\n"), sink,
                        {})
                  .ok());
  killer.join();
  v1::Result result = sink.result();
  EXPECT_EQ(result.status(), v1::FAILED);
  EXPECT_EQ(result.reason(), v1::VM_DIED);
  EXPECT_EQ(result.ended_in(), v1::RUNNING);
  // The host agent's log is its "console".
  EXPECT_THAT(result.console_tail(),
              ::testing::HasSubstr("cloudlet-agent: serving on port"));
}

TEST_F(RunnerTest, ABootFailureEndsBootFailedWithTheConsoleTail) {
  Make(1, 1, FakeArtifacts::Mode::kCached, /*fail_boot=*/true);
  RecordingSink sink;
  ASSERT_TRUE(runner_->Run(Shell("echo hi\n"), sink, {}).ok());
  v1::Result result = sink.result();
  EXPECT_EQ(result.reason(), v1::BOOT_FAILED);
  EXPECT_EQ(result.ended_in(), v1::BOOTING);
  EXPECT_NE(result.console_tail().find("Kernel panic"), std::string::npos);
  EXPECT_EQ(slots_->running(), 0);
  EXPECT_EQ(runner_->vms_running(), 0);
}

TEST_F(RunnerTest, AnArtifactBuildFailureEndsPrepareFailed) {
  Make(1, 1, FakeArtifacts::Mode::kFail);
  RecordingSink sink;
  ASSERT_TRUE(runner_->Run(Shell("echo hi\n"), sink, {}).ok());
  EXPECT_EQ(sink.result().reason(), v1::PREPARE_FAILED);
  EXPECT_EQ(sink.result().ended_in(), v1::PREPARING);
  EXPECT_NE(sink.result().message().find("Error 2"), std::string::npos);
}

TEST_F(RunnerTest, ShutdownRefusesNewRunsAndCancelsRunningOnes) {
  RecordingSink sink;
  std::thread run([&] {
    EXPECT_TRUE(runner_
                    ->Run(Shell("echo started; sleep 60\n"), sink,
                          {})
                    .ok());
  });
  ASSERT_TRUE(sink.WaitFor([](const v1::RunEvent& e) { return e.has_output(); }));
  runner_->StopAdmitting();
  RecordingSink late;
  EXPECT_EQ(runner_->Run(Shell("echo late\n"), late, {}).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_FALSE(runner_->WaitUntilIdle(absl::Now() + absl::Milliseconds(200)));
  runner_->CancelAll(v1::SHUTTING_DOWN, "the VMM shut down");
  EXPECT_TRUE(runner_->WaitUntilIdle(absl::Now() + absl::Seconds(2)));
  run.join();
  EXPECT_EQ(sink.result().reason(), v1::SHUTTING_DOWN);
  EXPECT_TRUE(ProcessGone(last_agent_pid()));
}

TEST_F(RunnerTest, CancellingWhilePreparingStopsThePreparation) {
  Make(1, 1, FakeArtifacts::Mode::kBlockUntilCancelled);
  RecordingSink sink;
  std::atomic<bool> gone{false};
  std::thread canceller([&] {
    ASSERT_TRUE(sink.WaitFor([](const v1::RunEvent& e) {
      return e.has_progress();
    }));
    gone = true;
  });
  ASSERT_TRUE(
      runner_->Run(Shell("echo hi\n"), sink, CancelToken::FromProbe([&] { return gone.load(); })).ok());
  canceller.join();
  EXPECT_EQ(sink.result().reason(), v1::CANCELLED);
  EXPECT_EQ(sink.result().ended_in(), v1::PREPARING);
  EXPECT_EQ(slots_->running(), 0);
}

}  // namespace
}  // namespace cloudlet::vmm
