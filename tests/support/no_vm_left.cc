#include "tests/support/no_vm_left.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace cloudlet::testing {
namespace {

struct ProcInfo {
  std::string comm;
  char state = '?';
  pid_t ppid = 0;
};

// /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces.
bool ReadStat(pid_t pid, ProcInfo* info) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return false;
  info->comm = stat.substr(open + 1, close - open - 1);
  std::istringstream rest(stat.substr(close + 1));
  rest >> info->state >> info->ppid;
  return !rest.fail();
}

std::map<pid_t, ProcInfo> AllProcesses() {
  std::map<pid_t, ProcInfo> processes;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc", error)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    ProcInfo info;
    if (ReadStat(pid, &info)) processes[pid] = info;
  }
  return processes;
}

// A VM's process: a QEMU, or a cloudlet-agent standing in for a VM (the
// host-agent seam, vmm/vm/host_agent_provider.h).
bool IsVmProcess(const ProcInfo& info) {
  return absl::StartsWith(info.comm, "qemu-system") ||
         info.comm == "cloudlet-agent";
}

// Reaps VM zombies that were re-parented to us as subreaper (orphans of a
// killed helper); our own ChildProcess objects reap theirs.
void ReapAdoptedVmZombies(const std::map<pid_t, ProcInfo>& processes) {
  for (const auto& [pid, info] : processes) {
    if (info.state == 'Z' && info.ppid == ::getpid() && IsVmProcess(info)) {
      ::waitpid(pid, nullptr, WNOHANG);
    }
  }
}

class NoVmLeftListener : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& test) override {
    std::vector<pid_t> left = WaitUntilNoVmLeft(absl::Seconds(2));
    if (left.empty()) return;
    ADD_FAILURE() << "VM processes of this test are still alive 2 s after "
                  << test.test_suite_name() << "." << test.name()
                  << " ended: " << absl::StrJoin(left, ", ")
                  << " (killing them now)";
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    WaitUntilNoVmLeft(absl::Seconds(2));
  }
};

}  // namespace

std::vector<pid_t> VmProcessesOf(pid_t ancestor) {
  std::map<pid_t, ProcInfo> processes = AllProcesses();
  ReapAdoptedVmZombies(processes);
  std::vector<pid_t> found;
  for (const auto& [pid, info] : processes) {
    if (!IsVmProcess(info) || info.state == 'Z') {
      continue;
    }
    // Walk up the parent chain (bounded, in case of a race with exits).
    pid_t parent = info.ppid;
    for (int depth = 0; depth < 64 && parent > 1; ++depth) {
      if (parent == ancestor) {
        found.push_back(pid);
        break;
      }
      auto it = processes.find(parent);
      if (it == processes.end()) break;
      parent = it->second.ppid;
    }
  }
  return found;
}

std::vector<pid_t> WaitUntilNoVmLeft(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::vector<pid_t> left = VmProcessesOf(::getpid());
    if (left.empty() || absl::Now() >= deadline) return left;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

bool WaitUntilProcessGone(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    ProcInfo info;
    if (!ReadStat(pid, &info) || info.state == 'Z') return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void InstallNoVmLeftCheck() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::testing::UnitTest::GetInstance()->listeners().Append(
      new NoVmLeftListener);
}

}  // namespace cloudlet::testing
