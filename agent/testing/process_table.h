#ifndef CLOUDLET_AGENT_TESTING_PROCESS_TABLE_H_
#define CLOUDLET_AGENT_TESTING_PROCESS_TABLE_H_

// Test helpers (not part of the agent): what /proc says about processes.

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace cloudlet::agent::testing {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  char state = '?';  // R, S, D, Z, ...
};

// Every process /proc lists now (those that vanish while reading are
// skipped).
inline std::vector<ProcessInfo> ProcessTable() {
  std::vector<ProcessInfo> table;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc", error)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat;
    if (!std::getline(stat_file, stat)) continue;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields =
        absl::StrSplit(stat.substr(close + 2), ' ');
    if (fields.size() < 3) continue;
    ProcessInfo info;
    info.pid = pid;
    info.state = fields[0].empty() ? '?' : fields[0][0];
    if (!absl::SimpleAtoi(fields[1], &info.ppid) ||
        !absl::SimpleAtoi(fields[2], &info.pgid)) {
      continue;
    }
    table.push_back(info);
  }
  return table;
}

// Processes of group `pgid` that are not zombies: the ones still running.
inline std::vector<pid_t> LiveProcessesInGroup(pid_t pgid) {
  std::vector<pid_t> live;
  for (const ProcessInfo& info : ProcessTable()) {
    if (info.pgid == pgid && info.state != 'Z' && info.state != 'X') {
      live.push_back(info.pid);
    }
  }
  return live;
}

// Zombie children of `parent`: processes it has not reaped.
inline std::vector<pid_t> ZombieChildren(pid_t parent) {
  std::vector<pid_t> zombies;
  for (const ProcessInfo& info : ProcessTable()) {
    if (info.ppid == parent && info.state == 'Z') zombies.push_back(info.pid);
  }
  return zombies;
}

// Live (non-zombie) children of `parent`.
inline std::vector<pid_t> LiveChildren(pid_t parent) {
  std::vector<pid_t> children;
  for (const ProcessInfo& info : ProcessTable()) {
    if (info.ppid == parent && info.state != 'Z') children.push_back(info.pid);
  }
  return children;
}

// How many file descriptors `pid` has open.
inline size_t OpenFdCount(pid_t pid) {
  std::error_code error;
  size_t count = 0;
  for (auto it = std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/fd", error);
       !error && it != std::filesystem::directory_iterator();
       it.increment(error)) {
    ++count;
  }
  return count;
}

}  // namespace cloudlet::agent::testing

#endif  // CLOUDLET_AGENT_TESTING_PROCESS_TABLE_H_
