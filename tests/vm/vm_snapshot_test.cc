// VM snapshots with real QEMU (TCG here) and the real guest artifacts: a
// snapshot is made once per VM shape, VMs resume from it and answer, a
// snapshot that does not load fails cleanly, and the VM provider then
// boots instead, also when a resumed guest's agent does not answer. Each
// test keeps its snapshots in its own cache dir.
#include "vmm/vm/vm_snapshots.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/no_vm_left.h"
#include "tests/vm/vm_test_env.h"
#include "vmm/vm/agent_client.h"
#include "vmm/qemu/qemu_process.h"
#include "vmm/vm/qemu_vm_provider.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr absl::Duration kVmTimeout = absl::Seconds(120);

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int64_t ModificationNanos(const fs::path& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
}

class VmSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<vmm::GuestArtifacts> artifacts = RealArtifacts(v1::SHELL);
    ASSERT_TRUE(artifacts.ok()) << artifacts.status();
    artifacts_ = *artifacts;
    absl::StatusOr<TempDir> work = TempDir::Create("cloudlet-snapshot-test-");
    ASSERT_TRUE(work.ok()) << work.status();
    work_.emplace(*std::move(work));
    auto store = vmm::CacheStore::Open(cache_dir());
    ASSERT_TRUE(store.ok()) << store.status();
    fs::create_directories(runtime_dir());
    snapshots_ = std::make_shared<vmm::VmSnapshots>(
        std::shared_ptr<vmm::CacheStore>(*std::move(store)));
  }

  vmm::VmSpec Spec() const {
    vmm::VmSpec spec;
    spec.kernel = artifacts_.kernel;
    spec.initramfs = artifacts_.initramfs;
    spec.image = artifacts_.image;
    spec.accel = vmm::DetectAccel();
    spec.tcg_tb_size_mib = 128;
    spec.name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    return spec;
  }

  absl::StatusOr<vmm::VmSnapshot> EnsureSnapshot() {
    return snapshots_->Ensure(Spec(), runtime_dir(), absl::Now() + kVmTimeout,
                              {});
  }

  static absl::Status AgentAnswers(const vmm::QemuProcess& vm) {
    vmm::AgentClient agent(vm.agent_target());
    return agent.WaitUntilHealthy(absl::Now() + kVmTimeout,
                                  CancelToken::FromProbe([&] { return vm.Exited(); }));
  }

  // Acquires a VM for `agent_port` from a provider over snapshots_, breaks
  // each snapshot in the cache with `break_snapshot` (given its dir), and
  // expects the next VM to boot within `boot_timeout` and the one after to
  // resume from a snapshot made again.
  void ExpectTheProviderBootsPastABrokenSnapshotAndMakesItAgain(
      uint16_t agent_port, absl::Duration boot_timeout,
      const std::function<void(const fs::path&)>& break_snapshot) {
    vmm::QemuVmProviderOptions options;
    options.accel = vmm::DetectAccel();
    options.runtime_dir = runtime_dir();
    options.tcg_tb_size_mib = 128;
    options.snapshots = snapshots_;
    vmm::QemuVmProvider provider(options);
    vmm::VmRequest request;
    request.artifacts = artifacts_;
    request.agent_port = agent_port;
    request.ready_by = absl::Now() + kVmTimeout;

    request.run_id = "resumed";
    auto resumed = provider.Acquire(request, {}, nullptr);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_FALSE((*resumed)->Exited());
    EXPECT_THAT((*resumed)->ConsoleTail(100), Not(HasSubstr("cloudlet-init")))
        << "this VM booted";
    resumed->reset();

    std::vector<fs::path> snapshots;
    for (const auto& entry : fs::directory_iterator(cache_dir())) {
      if (fs::exists(entry.path() / "state")) snapshots.push_back(entry.path());
    }
    ASSERT_EQ(snapshots.size(), 1u);
    break_snapshot(snapshots.front());

    request.run_id = "booted";
    request.ready_by = absl::Now() + boot_timeout;
    std::string console;
    auto booted = provider.Acquire(request, {}, &console);
    ASSERT_TRUE(booted.ok()) << booted.status() << "\n" << console;
    EXPECT_THAT((*booted)->ConsoleTail(100), HasSubstr("cloudlet-init"))
        << "this VM did not boot";
    booted->reset();
    EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(10)).empty());

    // The broken snapshot was discarded: the next VM resumes from a new one.
    request.run_id = "resumed-again";
    request.ready_by = absl::Now() + kVmTimeout;
    auto again = provider.Acquire(request, {}, nullptr);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_THAT((*again)->ConsoleTail(100), Not(HasSubstr("cloudlet-init")))
        << "this VM booted";
  }

  fs::path cache_dir() const { return work_->path() / "cache"; }
  fs::path runtime_dir() const { return work_->path() / "runtime"; }

  vmm::GuestArtifacts artifacts_;
  std::optional<TempDir> work_;
  std::shared_ptr<vmm::VmSnapshots> snapshots_;
};

TEST_F(VmSnapshotTest, IsMadeOnceAndNamesTheEntriesItWasMadeFrom) {
  absl::StatusOr<vmm::VmSnapshot> made = EnsureSnapshot();
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_THAT(made->entry, StartsWith("snapshot-"));
  EXPECT_EQ(made->dir, cache_dir() / made->entry);
  EXPECT_GT(fs::file_size(made->dir / "state"), 0u);
  EXPECT_TRUE(fs::exists(made->dir / "ram"));
  auto entry_of = [](const fs::path& file) {
    return file.parent_path().filename().string();
  };
  EXPECT_EQ(ReadFile(made->dir / vmm::kSnapshotInputsFile),
            absl::StrCat(entry_of(artifacts_.kernel), "\n",
                         entry_of(artifacts_.initramfs), "\n",
                         entry_of(artifacts_.image), "\n"));
  // The source VM is gone and left nothing in the runtime dir.
  EXPECT_TRUE(fs::is_empty(runtime_dir()));

  const int64_t saved_at = ModificationNanos(made->dir / "state");
  absl::StatusOr<vmm::VmSnapshot> found = EnsureSnapshot();
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->dir, made->dir);
  EXPECT_EQ(ModificationNanos(found->dir / "state"), saved_at)
      << "the snapshot was made again";
}

TEST_F(VmSnapshotTest, OtherMemoryIsAnotherSnapshot) {
  absl::StatusOr<vmm::VmSnapshot> small = EnsureSnapshot();
  ASSERT_TRUE(small.ok()) << small.status();
  vmm::VmSpec larger = Spec();
  larger.memory_mib = 320;
  absl::StatusOr<vmm::VmSnapshot> large = snapshots_->Ensure(
      larger, runtime_dir(), absl::Now() + kVmTimeout, {});
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_NE(large->entry, small->entry);
}

TEST_F(VmSnapshotTest, TwoVmsResumeFromOneSnapshotAndDieWithTheirOwners) {
  absl::StatusOr<vmm::VmSnapshot> snapshot = EnsureSnapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto first = vmm::VmSnapshots::Resume(Spec(), *snapshot, runtime_dir(),
                                        absl::Now() + kVmTimeout);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = vmm::VmSnapshots::Resume(Spec(), *snapshot, runtime_dir(),
                                         absl::Now() + kVmTimeout);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE((*first)->agent_target(), (*second)->agent_target());
  absl::Status first_answers = AgentAnswers(**first);
  EXPECT_TRUE(first_answers.ok())
      << first_answers << "\n" << (*first)->ConsoleTail(20);
  absl::Status second_answers = AgentAnswers(**second);
  EXPECT_TRUE(second_answers.ok())
      << second_answers << "\n" << (*second)->ConsoleTail(20);

  pid_t first_pid = (*first)->pid();
  pid_t second_pid = (*second)->pid();
  first->reset();
  second->reset();
  EXPECT_TRUE(WaitUntilProcessGone(first_pid, absl::ZeroDuration()));
  EXPECT_TRUE(WaitUntilProcessGone(second_pid, absl::ZeroDuration()));
  EXPECT_TRUE(fs::is_empty(runtime_dir()));
}

TEST_F(VmSnapshotTest, AStateQemuCannotLoadFailsTheResumeAndLeavesNoQemu) {
  absl::StatusOr<vmm::VmSnapshot> snapshot = EnsureSnapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  std::ofstream(snapshot->dir / "state", std::ios::trunc) << "not QEMU's";
  auto resumed = vmm::VmSnapshots::Resume(Spec(), *snapshot, runtime_dir(),
                                          absl::Now() + kVmTimeout);
  ASSERT_FALSE(resumed.ok());
  EXPECT_THAT(std::string(resumed.status().message()),
              HasSubstr(snapshot->entry));
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(10)).empty());
  EXPECT_TRUE(fs::is_empty(runtime_dir()));
}

TEST_F(VmSnapshotTest, TheProviderBootsWhenTheStateDoesNotLoadAndMakesItAgain) {
  ExpectTheProviderBootsPastABrokenSnapshotAndMakesItAgain(
      5000, kVmTimeout, [](const fs::path& snapshot) {
        std::ofstream(snapshot / "state", std::ios::trunc) << "broken";
      });
}

TEST_F(VmSnapshotTest, TheProviderBootsWhenAResumedAgentDoesNotAnswer) {
  // The snapshot for agent port 5001 gets the guest of the one for port
  // 5000: it loads and runs, but its agent listens on the other port. The
  // provider waits half the time left for it (10 s), then boots.
  ExpectTheProviderBootsPastABrokenSnapshotAndMakesItAgain(
      5001, absl::Seconds(20), [this](const fs::path& snapshot) {
        absl::StatusOr<vmm::VmSnapshot> other = EnsureSnapshot();
        ASSERT_TRUE(other.ok()) << other.status();
        ASSERT_NE(other->dir, snapshot);
        fs::rename(other->dir / "ram", snapshot / "ram");
        fs::rename(other->dir / "state", snapshot / "state");
      });
}

}  // namespace
}  // namespace cloudlet::testing
