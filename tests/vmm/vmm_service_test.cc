// cloudlet-vmm as a client sees it: the real binary on a free port. Most
// tests run it on the host-agent seam (--vm_provider=host_agent: each
// "VM" a real cloudlet-agent process), which shows the service's
// behaviour in milliseconds per run; VmmServiceQemuTest runs what only
// real microVMs show (TCG here; the shared artifact cache). The test main
// checks that no VM process started by a test outlives it
// (tests/support/no_vm_left.h).
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/process/subprocess.h"
#include "common/rpc/net.h"
#include "common/sync/poll.h"
#include "common/workload_names.h"
#include "grpc_health_v1.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/no_vm_left.h"
#include "tests/vmm/vmm_process.h"
#include "vmm.grpc.pb.h"
#include "vmm/cache/cache_store.h"

namespace cloudlet::testing {
namespace {

// Generous: a TCG boot takes seconds, more on a busy 2-core machine.
constexpr absl::Duration kRunDeadline = absl::Seconds(180);

struct TimedEvent {
  v1::RunEvent event;
  absl::Time at;
};

struct RunOutcome {
  std::vector<TimedEvent> events;
  grpc::Status status;

  const v1::Result& result() const {
    static const v1::Result kNone;
    return !events.empty() && events.back().event.has_result()
               ? events.back().event.result()
               : kNone;
  }
  int results() const {
    int count = 0;
    for (const TimedEvent& e : events) count += e.event.has_result();
    return count;
  }
  std::string Output(v1::Stream stream) const {
    std::string text;
    for (const TimedEvent& e : events) {
      if (e.event.has_output() && e.event.output().stream() == stream) {
        text += e.event.output().data();
      }
    }
    return text;
  }
  // Index of the first event matching `match` at or after `from`, or -1.
  int Find(const std::function<bool(const v1::RunEvent&)>& match,
           int from = 0) const {
    for (int i = from; i < static_cast<int>(events.size()); ++i) {
      if (match(events[i].event)) return i;
    }
    return -1;
  }
  // "accepted stage:preparing progress stage:booting booted ..." for
  // failure messages.
  std::string Summary() const {
    std::vector<std::string> parts;
    for (const TimedEvent& e : events) {
      const v1::RunEvent& event = e.event;
      if (event.has_accepted()) parts.push_back("accepted");
      if (event.has_progress()) parts.push_back("progress");
      if (event.has_stage()) {
        parts.push_back(absl::StrCat("stage:", StageName(event.stage().stage())));
      }
      if (event.has_booted()) parts.push_back("booted");
      if (event.has_output()) parts.push_back("output");
      if (event.has_result()) {
        parts.push_back(absl::StrCat(
            "result:", StageName(event.result().status()), "/",
            ReasonName(event.result().reason()), " \"",
            event.result().message(), "\""));
      }
    }
    return absl::StrCat(absl::StrJoin(parts, " "), " | grpc ",
                        status.error_code(), " ", status.error_message());
  }
};

bool IsStage(const v1::RunEvent& event, v1::Stage stage) {
  return event.has_stage() && event.stage().stage() == stage;
}
auto StageIs(v1::Stage stage) {
  return [stage](const v1::RunEvent& event) { return IsStage(event, stage); };
}
bool IsOutput(const v1::RunEvent& event) { return event.has_output(); }

// Runs `request` to its end, recording each event with its arrival time
// and calling `on_event` (on this thread) for each. `context` may carry a
// deadline or be cancelled by `on_event`; without one, kRunDeadline.
RunOutcome RunWorkload(
    v1::VmmService::Stub& stub, const v1::RunRequest& request,
    grpc::ClientContext* context = nullptr,
    const std::function<void(const v1::RunEvent&)>& on_event = nullptr) {
  grpc::ClientContext own_context;
  if (context == nullptr) {
    context = &own_context;
    context->set_deadline(absl::ToChronoTime(absl::Now() + kRunDeadline));
  }
  RunOutcome outcome;
  std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader =
      stub.Run(context, request);
  v1::RunEvent event;
  while (reader->Read(&event)) {
    outcome.events.push_back({event, absl::Now()});
    if (on_event) on_event(event);
  }
  outcome.status = reader->Finish();
  return outcome;
}

v1::RunRequest Workload(v1::Language language, const std::string& code,
                        absl::Duration timeout = absl::ZeroDuration()) {
  v1::RunRequest request;
  request.mutable_workload()->set_name("vmm-test");
  request.mutable_workload()->set_language(language);
  request.mutable_workload()->set_code(code);
  if (timeout > absl::ZeroDuration()) {
    request.mutable_workload()->mutable_timeout()->set_seconds(
        absl::ToInt64Seconds(timeout));
  }
  return request;
}

v1::RunRequest Shell(const std::string& code,
                     absl::Duration timeout = absl::ZeroDuration()) {
  return Workload(v1::SHELL, code, timeout);
}

std::vector<std::string> VmDirs(const std::filesystem::path& runtime_dir) {
  std::vector<std::string> dirs;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(runtime_dir, error)) {
    std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, "vm-")) dirs.push_back(name);
  }
  return dirs;
}

class VmmServiceTest : public ::testing::Test {
 protected:
  // Runs on host agents; VmmServiceQemuTest on QEMU microVMs.
  virtual bool UsesQemu() const { return false; }

  void StartVmm(std::vector<std::string> flags = {},
                std::filesystem::path runtime_dir = {}) {
    if (!UsesQemu()) flags.push_back("--vm_provider=host_agent");
    absl::StatusOr<std::unique_ptr<VmmProcess>> vmm =
        VmmProcess::Start(flags, std::move(runtime_dir));
    ASSERT_TRUE(vmm.ok()) << vmm.status();
    vmm_ = *std::move(vmm);
  }
  void SetUp() override { StartVmm(); }

  v1::VmmHealthResponse Health() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::VmmHealthResponse health;
    grpc::Status status =
        vmm_->stub().Health(&context, v1::VmmHealthRequest(), &health);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return health;
  }

  std::unique_ptr<VmmProcess> vmm_;
};

// What only a real microVM shows: the accelerator and guest artifacts, a
// boot, QEMU's console, and that no QEMU outlives a killed VMM.
class VmmServiceQemuTest : public VmmServiceTest {
 protected:
  bool UsesQemu() const override { return true; }
};

TEST_F(VmmServiceQemuTest, HealthReportsReadyLimitsAccelAndArtifacts) {
  v1::VmmHealthResponse health = Health();
  EXPECT_TRUE(health.ready());
  EXPECT_FALSE(health.shutting_down());
  EXPECT_EQ(health.running_runs(), 0u);
  EXPECT_EQ(health.queued_runs(), 0u);
  EXPECT_GE(health.max_vms(), 1u);
  EXPECT_EQ(health.max_queue(), 16u);
  EXPECT_TRUE(health.accel() == "tcg" || health.accel() == "kvm");
  ASSERT_FALSE(health.artifacts().empty());
  EXPECT_EQ(health.artifacts(0).name(), "kernel");
}

// The cache is a folder users and other processes change: junk, folders
// that vanish, links to nowhere, unreadable folders (for users other than
// root). Listing, building and pruning it must not stop the VMM serving.
TEST_F(VmmServiceQemuTest, AChurningCacheFolderDoesNotStopTheVmmServing) {
  const std::filesystem::path cache = vmm::CacheStore::DefaultDir();
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int i = 0; !stop.load(); ++i) {
      std::error_code error;
      // Names of entries of known kinds, which a prune judges stale.
      const std::filesystem::path junk =
          cache / absl::StrCat("image-shell-", std::string(15, '0'), i % 10);
      std::filesystem::create_directories(junk / "deep" / "er", error);
      ::chmod((junk / "deep").c_str(), 0);
      std::filesystem::create_symlink(
          "/nonexistent", cache / absl::StrCat("kernel-", std::string(15, '0'),
                                               i % 10),
          error);
      std::filesystem::create_directories(
          cache / "tmp" / absl::StrCat("initramfs-", std::string(16, '0'),
                                       ".junk", i % 10),
          error);
      ::chmod((junk / "deep").c_str(), 0755);
      std::filesystem::remove_all(junk, error);
    }
  });
  std::thread pruner([&] {
    while (!stop.load()) {
      SpawnOptions prune;
      prune.argv = {CLOUDLET_VMM_BINARY, "artifacts", "prune"};
      prune.stdout_mode = StdioMode::kNull;
      prune.stderr_mode = StdioMode::kPipe;
      absl::StatusOr<CommandResult> pruned =
          RunCommand(prune, absl::Seconds(60));
      EXPECT_TRUE(pruned.ok() && pruned->status.success())
          << (pruned.ok() ? pruned->output : pruned.status().ToString());
    }
  });
  StartVmm({"--cache_max_bytes=1000000000000"});  // prunes at start too
  for (int run = 0; run < 3; ++run) {
    RunOutcome outcome = RunWorkload(vmm_->stub(), Shell("echo served\n"));
    ASSERT_TRUE(outcome.status.ok()) << outcome.Summary();
    EXPECT_EQ(outcome.result().status(), v1::DONE) << outcome.Summary();
    EXPECT_EQ(outcome.Output(v1::STDOUT), "served\n");
  }
  stop = true;
  churn.join();
  pruner.join();
  EXPECT_TRUE(Health().ready());
  // The cache is the user's too: leave none of the junk behind.
  for (int i = 0; i < 10; ++i) {
    std::error_code error;
    std::filesystem::remove(
        cache / absl::StrCat("kernel-", std::string(15, '0'), i), error);
    std::filesystem::remove_all(
        cache / "tmp" /
            absl::StrCat("initramfs-", std::string(16, '0'), ".junk", i),
        error);
  }
}

TEST_F(VmmServiceTest, RefusesABadRequestWithInvalidArgumentAndNoVm) {
  RunOutcome empty_code = RunWorkload(vmm_->stub(), Shell(""));
  EXPECT_EQ(empty_code.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(empty_code.events.empty());
  EXPECT_NE(empty_code.status.error_message().find("workload.code"),
            std::string::npos);

  v1::RunRequest no_language = Shell("echo hi\n");
  no_language.mutable_workload()->set_language(v1::LANGUAGE_UNSPECIFIED);
  EXPECT_EQ(RunWorkload(vmm_->stub(), no_language).status.error_code(),
            grpc::INVALID_ARGUMENT);

  RunOutcome too_long =
      RunWorkload(vmm_->stub(), Shell("echo hi\n", absl::Hours(24)));
  EXPECT_EQ(too_long.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(VmProcessesOf(vmm_->pid()).empty());
}

TEST_F(VmmServiceQemuTest, ShellHelloStreamsEveryStageInOrderAndItsExitCode) {
  RunOutcome run = RunWorkload(vmm_->stub(),
                               Shell("echo hello from the vm\nexit 3\n"));
  ASSERT_TRUE(run.status.ok()) << run.Summary();
  ASSERT_FALSE(run.events.empty());
  EXPECT_TRUE(run.events[0].event.has_accepted()) << run.Summary();
  EXPECT_FALSE(run.events[0].event.accepted().run_id().empty());
  int preparing = run.Find(StageIs(v1::PREPARING));
  int progress = run.Find([](const v1::RunEvent& e) { return e.has_progress(); });
  int booting = run.Find(StageIs(v1::BOOTING));
  int booted = run.Find([](const v1::RunEvent& e) { return e.has_booted(); });
  int running = run.Find(StageIs(v1::RUNNING));
  int output = run.Find(IsOutput);
  int done = run.Find(StageIs(v1::DONE));
  EXPECT_TRUE(0 < preparing && preparing < progress && progress < booting &&
              booting < booted && booted < running && running < output &&
              output < done)
      << run.Summary();
  EXPECT_EQ(run.results(), 1) << run.Summary();
  EXPECT_TRUE(run.events.back().event.has_result()) << run.Summary();

  const v1::VmBooted& vm = run.events[booted].event.booted();
  EXPECT_TRUE(vm.accel() == "tcg" || vm.accel() == "kvm");
  EXPECT_EQ(vm.memory_mib(), 256u);
  EXPECT_EQ(vm.vcpus(), 1u);
  EXPECT_GT(vm.boot_time().seconds() * 1000 + vm.boot_time().nanos() / 1000000,
            0);

  EXPECT_EQ(run.Output(v1::STDOUT), "hello from the vm\n");
  const v1::Result& result = run.result();
  EXPECT_EQ(result.status(), v1::DONE);
  EXPECT_EQ(result.reason(), v1::EXITED);
  EXPECT_EQ(result.exit_code(), 3);
  EXPECT_TRUE(result.timings().has_prepare());
  EXPECT_TRUE(result.timings().has_boot());
  EXPECT_TRUE(result.timings().has_run());
  EXPECT_TRUE(result.timings().has_total());
  EXPECT_TRUE(VmDirs(vmm_->runtime_dir()).empty());
}

TEST_F(VmmServiceTest, PythonHelloBuildsThenRunsInItsVm) {
  RunOutcome run = RunWorkload(
      vmm_->stub(),
      Workload(v1::PYTHON,
               "import sys\nprint('hello from python')\n"
               "print('to stderr', file=sys.stderr)\n"));
  ASSERT_TRUE(run.status.ok()) << run.Summary();
  int booted = run.Find([](const v1::RunEvent& e) { return e.has_booted(); });
  int building = run.Find(StageIs(v1::BUILDING));
  int running = run.Find(StageIs(v1::RUNNING));
  int done = run.Find(StageIs(v1::DONE));
  EXPECT_TRUE(booted > 0 && booted < building && building < running &&
              running < done)
      << run.Summary();
  EXPECT_EQ(run.Output(v1::STDOUT), "hello from python\n");
  EXPECT_EQ(run.Output(v1::STDERR), "to stderr\n");
  EXPECT_EQ(run.result().status(), v1::DONE) << run.Summary();
  EXPECT_EQ(run.result().exit_code(), 0);
  EXPECT_TRUE(run.result().timings().has_build());
}

TEST_F(VmmServiceTest, OutputStreamsThroughTheVmmAsItIsPrinted) {
  RunOutcome run = RunWorkload(
      vmm_->stub(), Shell("echo first\nsleep 1\necho second\n"));
  ASSERT_TRUE(run.status.ok()) << run.Summary();
  int first = run.Find([](const v1::RunEvent& e) {
    return e.has_output() && absl::StrContains(e.output().data(), "first");
  });
  int second = run.Find([](const v1::RunEvent& e) {
    return e.has_output() && absl::StrContains(e.output().data(), "second");
  });
  ASSERT_GE(first, 0) << run.Summary();
  ASSERT_GT(second, first) << run.Summary();
  EXPECT_GE(run.events[second].at - run.events[first].at,
            absl::Milliseconds(800));
}

TEST_F(VmmServiceTest, CancellingMidRunKillsTheVm) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kRunDeadline));
  absl::Time cancelled_at = absl::InfiniteFuture();
  RunOutcome run = RunWorkload(
      vmm_->stub(), Shell("echo started\nsleep 120\n"), &context,
      [&](const v1::RunEvent& event) {
        if (event.has_output() && cancelled_at == absl::InfiniteFuture()) {
          cancelled_at = absl::Now();
          context.TryCancel();
        }
      });
  ASSERT_NE(cancelled_at, absl::InfiniteFuture()) << run.Summary();
  EXPECT_EQ(run.status.error_code(), grpc::CANCELLED);
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(2)).empty());
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(3));
}

TEST_F(VmmServiceTest, ACallerDeadlineMidRunKillsTheVm) {
  grpc::ClientContext context;
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  context.set_deadline(absl::ToChronoTime(deadline));
  bool saw_output = false;
  RunOutcome run = RunWorkload(
      vmm_->stub(), Shell("echo started\nsleep 120\n"), &context,
      [&](const v1::RunEvent& event) { saw_output |= event.has_output(); });
  EXPECT_EQ(run.status.error_code(), grpc::DEADLINE_EXCEEDED);
  EXPECT_TRUE(saw_output) << "the deadline passed before the run started "
                             "(slow boot?): "
                          << run.Summary();
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(2)).empty());
}

TEST_F(VmmServiceTest, ARunPastItsTimeoutEndsAsTimeoutAndItsVmIsKilled) {
  RunOutcome run = RunWorkload(
      vmm_->stub(), Shell("echo started\nsleep 120\n", absl::Seconds(2)));
  ASSERT_TRUE(run.status.ok()) << run.Summary();
  int started = run.Find(IsOutput);
  ASSERT_GE(started, 0) << run.Summary();
  EXPECT_EQ(run.result().status(), v1::FAILED);
  EXPECT_EQ(run.result().reason(), v1::TIMEOUT) << run.Summary();
  EXPECT_EQ(run.result().ended_in(), v1::RUNNING);
  EXPECT_LT(run.events.back().at - run.events[started].at, absl::Seconds(6));
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(2)).empty());
}

TEST_F(VmmServiceQemuTest, KillingTheVmsQemuMidRunEndsVmDiedWithTheConsoleTail) {
  std::vector<pid_t> killed;
  RunOutcome run = RunWorkload(
      vmm_->stub(), Shell("echo started\nsleep 120\n"), nullptr,
      [&](const v1::RunEvent& event) {
        if (event.has_output() && killed.empty()) {
          killed = VmProcessesOf(vmm_->pid());
          for (pid_t pid : killed) ::kill(pid, SIGKILL);
        }
      });
  ASSERT_EQ(killed.size(), 1u) << run.Summary();
  ASSERT_TRUE(run.status.ok()) << run.Summary();
  EXPECT_EQ(run.results(), 1);
  const v1::Result& result = run.result();
  EXPECT_EQ(result.status(), v1::FAILED);
  EXPECT_EQ(result.reason(), v1::VM_DIED) << run.Summary();
  EXPECT_EQ(result.ended_in(), v1::RUNNING);
  EXPECT_FALSE(result.console_tail().empty());
  EXPECT_FALSE(result.message().empty());
}

TEST_F(VmmServiceTest, OneVmOneQueuedAndTheThirdRunIsRefused) {
  StartVmm({"--max_vms=1", "--max_queue=1"});
  RunOutcome first, second;
  absl::Notification first_booted;
  std::thread first_run([&] {
    first = RunWorkload(vmm_->stub(), Shell("echo one\nsleep 2\n"), nullptr,
                        [&](const v1::RunEvent& event) {
                          if (event.has_booted()) first_booted.Notify();
                        });
    if (!first_booted.HasBeenNotified()) first_booted.Notify();
  });
  ASSERT_TRUE(first_booted.WaitForNotificationWithTimeout(kRunDeadline));
  absl::Notification second_queued;
  std::thread second_run([&] {
    second = RunWorkload(vmm_->stub(), Shell("echo two\n"), nullptr,
                         [&](const v1::RunEvent& event) {
                           if (IsStage(event, v1::QUEUED)) {
                             second_queued.Notify();
                           }
                         });
    if (!second_queued.HasBeenNotified()) second_queued.Notify();
  });
  ASSERT_TRUE(second_queued.WaitForNotificationWithTimeout(kRunDeadline));
  v1::VmmHealthResponse health = Health();
  EXPECT_EQ(health.running_runs(), 1u);
  EXPECT_EQ(health.queued_runs(), 1u);

  absl::Time asked = absl::Now();
  RunOutcome third = RunWorkload(vmm_->stub(), Shell("echo three\n"));
  EXPECT_EQ(third.status.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(third.events.empty());
  EXPECT_LT(absl::Now() - asked, absl::Seconds(2));

  first_run.join();
  second_run.join();
  EXPECT_EQ(first.result().status(), v1::DONE) << first.Summary();
  EXPECT_EQ(second.result().status(), v1::DONE) << second.Summary();
  EXPECT_EQ(second.Output(v1::STDOUT), "two\n");
  int queued = second.Find(StageIs(v1::QUEUED));
  ASSERT_GE(queued, 0) << second.Summary();
  EXPECT_TRUE(absl::StrContains(second.events[queued].event.stage().detail(),
                                "position 1"));
  EXPECT_GT(second.Find(StageIs(v1::BOOTING)), queued);
  // The second VM booted only after the first run's result.
  int second_booted =
      second.Find([](const v1::RunEvent& e) { return e.has_booted(); });
  ASSERT_GE(second_booted, 0);
  EXPECT_GE(second.events[second_booted].at, first.events.back().at);
}

// What grpc.health.v1 at `address` says of `service` ("" : the server).
grpc::health::v1::HealthCheckResponse::ServingStatus HealthOf(
    const std::string& address, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << address << " " << status.error_message();
  return response.status();
}

TEST_F(VmmServiceTest,
       TheProbePortStaysServingWhileBusyAndTheRunsServiceSaysWhenFull) {
  absl::StatusOr<uint16_t> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  const std::string probes = absl::StrCat("127.0.0.1:", *port);
  StartVmm({"--max_vms=1", "--max_queue=0",
            absl::StrCat("--health_listen=", probes)});
  const std::string main = absl::StrCat("127.0.0.1:", vmm_->port());
  using Status = grpc::health::v1::HealthCheckResponse;
  EXPECT_EQ(HealthOf(probes, ""), Status::SERVING);
  EXPECT_EQ(HealthOf(probes, "cloudlet.v1.VmmService"), Status::SERVING);

  absl::Notification started;
  std::thread client([&] {
    RunWorkload(vmm_->stub(), Shell("echo started\nsleep 3\n"), nullptr,
                [&](const v1::RunEvent& event) {
                  if (event.has_output() && !started.HasBeenNotified()) {
                    started.Notify();
                  }
                });
    if (!started.HasBeenNotified()) started.Notify();
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kRunDeadline));
  // Full: balancers go elsewhere, but a liveness probe must not restart it.
  EXPECT_EQ(HealthOf(main, "cloudlet.v1.VmmService"), Status::NOT_SERVING);
  EXPECT_EQ(HealthOf(probes, "cloudlet.v1.VmmService"), Status::NOT_SERVING);
  EXPECT_EQ(HealthOf(probes, ""), Status::SERVING);

  // Shutting down (the run still finishing): probes see it go.
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::ShutdownRequest request;
    request.mutable_grace()->set_seconds(60);
    v1::ShutdownResponse response;
    ASSERT_TRUE(vmm_->stub().Shutdown(&context, request, &response).ok());
  }
  EXPECT_TRUE(PollUntil("the probe port to say NOT_SERVING",
                        absl::Now() + absl::Seconds(5),
                        [&]() -> absl::StatusOr<bool> {
                          return HealthOf(probes, "") == Status::NOT_SERVING;
                        })
                  .ok());
  client.join();
  EXPECT_TRUE(vmm_->WaitForExit(absl::Seconds(10)).ok());
}

TEST_F(VmmServiceTest, ShutdownLetsARunningRunFinishAndThenExitsZero) {
  RunOutcome run;
  absl::Notification started;
  std::thread client([&] {
    run = RunWorkload(vmm_->stub(), Shell("echo started\nsleep 2\necho end\n"),
                      nullptr, [&](const v1::RunEvent& event) {
                        if (event.has_output() && !started.HasBeenNotified()) {
                          started.Notify();  // once: output may come in pieces
                        }
                      });
    if (!started.HasBeenNotified()) started.Notify();
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kRunDeadline));
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::ShutdownRequest request;
    request.mutable_grace()->set_seconds(60);
    v1::ShutdownResponse response;
    ASSERT_TRUE(vmm_->stub().Shutdown(&context, request, &response).ok());
    EXPECT_EQ(response.running_runs(), 1u);
  }
  RunOutcome refused = RunWorkload(vmm_->stub(), Shell("echo late\n"));
  EXPECT_EQ(refused.status.error_code(), grpc::UNAVAILABLE);
  client.join();
  EXPECT_EQ(run.result().status(), v1::DONE) << run.Summary();
  EXPECT_EQ(run.Output(v1::STDOUT), "started\nend\n");
  absl::StatusOr<ExitStatus> exit = vmm_->WaitForExit(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->success()) << exit->ToString();
}

TEST_F(VmmServiceTest, SigtermCancelsRunsPastTheGraceKillsTheirVmsAndExitsZero) {
  StartVmm({"--shutdown_grace=1s"});
  RunOutcome run;
  absl::Notification started;
  std::thread client([&] {
    run = RunWorkload(vmm_->stub(), Shell("echo started\nsleep 120\n"),
                      nullptr, [&](const v1::RunEvent& event) {
                        if (event.has_output() && !started.HasBeenNotified()) {
                          started.Notify();  // once: output may come in pieces
                        }
                      });
    if (!started.HasBeenNotified()) started.Notify();
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kRunDeadline));
  ASSERT_TRUE(vmm_->Signal(SIGTERM).ok());
  absl::StatusOr<ExitStatus> exit = vmm_->WaitForExit(absl::Seconds(10));
  client.join();
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->success()) << exit->ToString();
  EXPECT_TRUE(run.status.ok()) << run.Summary();
  EXPECT_EQ(run.result().status(), v1::FAILED);
  EXPECT_EQ(run.result().reason(), v1::SHUTTING_DOWN) << run.Summary();
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(2)).empty());
}

TEST_F(VmmServiceQemuTest, KillNineOfTheVmmLeavesNoQemuAndItsStateIsCleanedOnRestart) {
  std::filesystem::path runtime_dir = vmm_->runtime_dir();
  std::vector<pid_t> qemu;
  std::thread client([&] {
    RunWorkload(vmm_->stub(), Shell("echo started\nsleep 120\n"), nullptr,
                [&](const v1::RunEvent& event) {
                  if (event.has_output() && qemu.empty()) {
                    qemu = VmProcessesOf(vmm_->pid());
                    vmm_->KillNine();
                  }
                });
  });
  client.join();
  ASSERT_EQ(qemu.size(), 1u);
  EXPECT_TRUE(WaitUntilProcessGone(qemu[0], absl::Seconds(2)));
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(2)).empty());
  ASSERT_TRUE(vmm_->WaitForExit(absl::Seconds(5)).ok());
  EXPECT_EQ(VmDirs(runtime_dir).size(), 1u);  // the dead VMM's state

  StartVmm({}, runtime_dir);
  EXPECT_TRUE(VmDirs(runtime_dir).empty());
}

}  // namespace
}  // namespace cloudlet::testing
