#include "vmm/vm/runtime_state.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <csignal>

#include "absl/strings/str_cat.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;

// A pid that is surely not running: a child that has exited and was
// reaped.
pid_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(VmStateDir, IsCreatedUnderTheRuntimeDirAndRemovedWithItsContent) {
  absl::StatusOr<TempDir> runtime = TempDir::Create("vmm-runtime-");
  ASSERT_TRUE(runtime.ok());
  fs::path path;
  {
    absl::StatusOr<VmStateDir> dir = VmStateDir::Create(runtime->path(), "r1");
    ASSERT_TRUE(dir.ok()) << dir.status();
    path = dir->path();
    EXPECT_EQ(path, runtime->path() / "vm-r1");
    EXPECT_TRUE(fs::exists(path / "owner"));
    std::ofstream(path / "console.log") << "boot\n";
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(RemoveStaleVmState, KeepsTheStateOfALiveVmm) {
  absl::StatusOr<TempDir> runtime = TempDir::Create("vmm-runtime-");
  ASSERT_TRUE(runtime.ok());
  absl::StatusOr<VmStateDir> dir = VmStateDir::Create(runtime->path(), "live");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(RemoveStaleVmState(runtime->path()), 0);
  EXPECT_TRUE(fs::exists(dir->path()));
}

TEST(RemoveStaleVmState, RemovesStateWhoseVmmIsGoneAndKillsItsQemu) {
  absl::StatusOr<TempDir> runtime = TempDir::Create("vmm-runtime-");
  ASSERT_TRUE(runtime.ok());
  // A "QEMU" that outlived its VMM: a process the stale state names.
  SpawnOptions options;
  options.argv = {"sleep", "60"};
  absl::StatusOr<ChildProcess> survivor = ChildProcess::Spawn(options);
  ASSERT_TRUE(survivor.ok());
  std::string start_time;
  {
    std::ifstream stat(absl::StrCat("/proc/", survivor->pid(), "/stat"));
    std::string content((std::istreambuf_iterator<char>(stat)),
                        std::istreambuf_iterator<char>());
    std::string after = content.substr(content.rfind(')') + 2);
    std::istringstream fields(after);
    for (int i = 3; i <= 22; ++i) fields >> start_time;
  }
  fs::path stale = runtime->path() / "vm-stale";
  fs::create_directory(stale);
  std::ofstream(stale / "owner") << "vmm " << DeadPid() << " 1\n"
                                 << "qemu " << survivor->pid() << " "
                                 << start_time << "\n";

  EXPECT_EQ(RemoveStaleVmState(runtime->path()), 1);
  EXPECT_FALSE(fs::exists(stale));
  absl::StatusOr<ExitStatus> status = survivor->WaitFor(absl::Seconds(5));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->signal, SIGKILL);
}

TEST(RemoveStaleVmState, LeavesAnUnrelatedProcessWithAReusedPidAlone) {
  absl::StatusOr<TempDir> runtime = TempDir::Create("vmm-runtime-");
  ASSERT_TRUE(runtime.ok());
  SpawnOptions options;
  options.argv = {"sleep", "60"};
  absl::StatusOr<ChildProcess> bystander = ChildProcess::Spawn(options);
  ASSERT_TRUE(bystander.ok());
  fs::path stale = runtime->path() / "vm-stale";
  fs::create_directory(stale);
  // Same pid, different start time: not the QEMU the state recorded.
  std::ofstream(stale / "owner") << "vmm " << DeadPid() << " 1\n"
                                 << "qemu " << bystander->pid() << " 1\n";
  EXPECT_EQ(RemoveStaleVmState(runtime->path()), 1);
  EXPECT_FALSE(bystander->HasExited());
}

}  // namespace
}  // namespace cloudlet::vmm
