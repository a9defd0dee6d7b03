#include "vmm/vm/runtime_state.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/process/list_directory.h"
#include "spdlog/spdlog.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kVmDirPrefix = "vm-";
constexpr char kOwnerFile[] = "owner";
// A VM dir without an owner file is one being created, unless it is older.
constexpr auto kOwnerlessGrace = std::chrono::minutes(1);

// A process as the owner file records it: the pid and the kernel's start
// time of that pid (clock ticks since boot), which tells a reused pid apart.
struct ProcessId {
  pid_t pid = 0;
  uint64_t start_time = 0;
};

std::optional<uint64_t> StartTimeOf(pid_t pid) {
  std::ifstream stat_file(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(stat_file)),
                   std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat).substr(paren + 1), ' ', absl::SkipEmpty());
  // Field 22 (starttime) of stat(5); the split starts at field 3 (state).
  uint64_t start_time;
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &start_time)) {
    return std::nullopt;
  }
  return start_time;
}

bool IsRunning(const ProcessId& process) {
  std::optional<uint64_t> start_time = StartTimeOf(process.pid);
  return start_time && *start_time == process.start_time;
}

std::string OwnerLine(absl::string_view role, pid_t pid) {
  return absl::StrCat(role, " ", pid, " ", StartTimeOf(pid).value_or(0), "\n");
}

// Reads "vmm PID START\nqemu PID START\n" (the qemu line is optional).
bool ReadOwner(const fs::path& dir, ProcessId* vmm,
               std::optional<ProcessId>* qemu) {
  std::ifstream in(dir / kOwnerFile);
  std::string role;
  ProcessId process;
  bool have_vmm = false;
  while (in >> role >> process.pid >> process.start_time) {
    if (role == "vmm") {
      *vmm = process;
      have_vmm = true;
    } else if (role == "qemu") {
      *qemu = process;
    }
  }
  return have_vmm;
}

absl::Status WriteOwner(const fs::path& dir, const std::string& content) {
  fs::path tmp = dir / absl::StrCat(kOwnerFile, ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out.flush()) {
      return absl::InternalError(
          absl::StrCat("cannot write ", tmp.string(), ": ", strerror(errno)));
    }
  }
  std::error_code error;
  fs::rename(tmp, dir / kOwnerFile, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp.string(),
                                            ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace

fs::path DefaultRuntimeDir() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  fs::path base = (xdg != nullptr && *xdg != '\0') ? fs::path(xdg)
                                                   : fs::path("/tmp");
  return base / absl::StrCat("cloudlet-vmm-", ::getuid());
}

absl::Status CreateRuntimeDir(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "runtime dir ", dir.string(), ": cannot create: ", error.message()));
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("runtime dir ", dir.string(),
                                            ": chmod: ", strerror(errno)));
  }
  return absl::OkStatus();
}

int RemoveStaleVmState(const fs::path& runtime_dir) {
  int removed = 0;
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(runtime_dir);
  if (!names.ok()) {
    spdlog::warn("event=runtime_dir_unreadable error=\"{}\"",
                 std::string(names.status().message()));
    return 0;
  }
  for (const std::string& name : *names) {
    std::error_code error;
    const fs::directory_entry entry(runtime_dir / name, error);
    if (error || !absl::StartsWith(name, kVmDirPrefix) ||
        !entry.is_directory(error)) {
      continue;
    }
    ProcessId vmm;
    std::optional<ProcessId> qemu;
    if (ReadOwner(entry.path(), &vmm, &qemu)) {
      if (IsRunning(vmm)) continue;  // a live VMM's VM
      if (qemu && IsRunning(*qemu)) {
        spdlog::warn("event=stale_vm_killed dir={} pid={}",
                     entry.path().string(), qemu->pid);
        ::kill(qemu->pid, SIGKILL);
      }
    } else {
      auto modified = fs::last_write_time(entry.path(), error);
      if (error ||
          fs::file_time_type::clock::now() - modified < kOwnerlessGrace) {
        continue;  // probably being created right now
      }
    }
    fs::remove_all(entry.path(), error);
    if (error) {
      spdlog::warn("event=stale_vm_not_removed dir={} error=\"{}\"",
                   entry.path().string(), error.message());
      continue;
    }
    spdlog::info("event=stale_vm_removed dir={}", entry.path().string());
    ++removed;
  }
  return removed;
}

absl::StatusOr<VmStateDir> VmStateDir::Create(const fs::path& runtime_dir,
                                              absl::string_view run_id) {
  fs::path path = runtime_dir / absl::StrCat(kVmDirPrefix, run_id);
  if (::mkdir(path.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("cannot create VM state dir ",
                                            path.string(), ": ",
                                            strerror(errno)));
  }
  VmStateDir dir(path);
  if (absl::Status status = WriteOwner(path, OwnerLine("vmm", ::getpid()));
      !status.ok()) {
    return status;
  }
  return dir;
}

VmStateDir::VmStateDir(VmStateDir&& other) noexcept
    : path_(std::exchange(other.path_, {})) {}

VmStateDir& VmStateDir::operator=(VmStateDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

VmStateDir::~VmStateDir() { Remove(); }

void VmStateDir::Remove() {
  if (path_.empty()) return;
  std::error_code error;
  fs::remove_all(path_, error);
  path_.clear();
}

absl::Status VmStateDir::RecordVmProcess(pid_t pid) {
  return WriteOwner(path_, absl::StrCat(OwnerLine("vmm", ::getpid()),
                                        OwnerLine("qemu", pid)));
}

}  // namespace cloudlet::vmm
