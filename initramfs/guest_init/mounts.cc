#include "initramfs/guest_init/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/process/unique_fd.h"
#include "initramfs/guest_init/errno_error.h"

namespace cloudlet::guest_init {
namespace {

namespace fs = std::filesystem;

// The devpts options a Linux userland expects (tty group, ptmx for all).
constexpr char kDevptsOptions[] = "gid=5,mode=620,ptmxmode=666";

// mkdir -p (0755, less the umask); nothing when it exists.
absl::Status EnsureDirectory(const fs::path& dir) {
  struct stat info;
  if (::stat(dir.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::OkStatus();
  }
  std::error_code error;
  fs::create_directories(dir.parent_path(), error);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError(absl::StrCat("cannot create ", dir.string()));
  }
  return absl::OkStatus();
}

absl::Status BindMount(const fs::path& source, const fs::path& target) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoError(
        absl::StrCat("cannot bind ", source.string(), " on ", target.string()));
  }
  return absl::OkStatus();
}

// An empty regular file at `path`, to bind a file onto.
absl::Status CreateEmptyFile(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0755));
  if (!fd) return ErrnoError(absl::StrCat("cannot create ", path.string()));
  return absl::OkStatus();
}

// What a Linux userland expects under `root` besides /tmp and /dev/shm.
absl::Status MountApiFileSystems(const fs::path& root) {
  if (absl::Status s = MountFileSystem("proc", "proc", root / "proc");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = MountFileSystem("sysfs", "sysfs", root / "sys");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = MountFileSystem("devtmpfs", "devtmpfs", root / "dev");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = MountFileSystem("devpts", "devpts", root / "dev/pts", 0,
                                       kDevptsOptions);
      !s.ok()) {
    return s;
  }
  for (const auto& [name, target] :
       {std::pair{"fd", "/proc/self/fd"}, std::pair{"stdin", "/proc/self/fd/0"},
        std::pair{"stdout", "/proc/self/fd/1"},
        std::pair{"stderr", "/proc/self/fd/2"}}) {
    fs::path link = root / "dev" / name;
    if (::symlink(target, link.c_str()) != 0 && errno != EEXIST) {
      return ErrnoError(absl::StrCat("cannot create ", link.string()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MountFileSystem(const char* type, const char* source,
                             const fs::path& target, unsigned long flags,
                             const std::string& options) {
  if (absl::Status s = EnsureDirectory(target); !s.ok()) return s;
  if (::mount(source, target.c_str(), type, flags,
              options.empty() ? nullptr : options.c_str()) != 0) {
    return ErrnoError(
        absl::StrCat("cannot mount ", type, " on ", target.string(),
                     options.empty() ? "" : absl::StrCat(" (", options, ")")));
  }
  return absl::OkStatus();
}

absl::StatusOr<AgentRoot> PrepareOverlayRoot(const fs::path& image,
                                             const fs::path& initramfs_agent) {
  const fs::path lower = "/mnt/lower", rw = "/mnt/rw", root = "/mnt/root";
  if (absl::Status s =
          MountFileSystem("squashfs", image.c_str(), lower, MS_RDONLY);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          MountFileSystem("tmpfs", "tmpfs", rw, 0, "mode=0755,size=50%");
      !s.ok()) {
    return s;
  }
  for (const char* dir : {"upper", "work"}) {
    if (absl::Status s = EnsureDirectory(rw / dir); !s.ok()) return s;
  }
  // mkdir's mode is masked by the umask; chmod sets the sticky bit exactly.
  for (const char* dir : {"tmp", "shm"}) {
    if (absl::Status s = EnsureDirectory(rw / dir); !s.ok()) return s;
    if (::chmod((rw / dir).c_str(), 01777) != 0) {
      return ErrnoError(
          absl::StrCat("cannot make ", (rw / dir).string(), " world-writable"));
    }
  }
  if (absl::Status s = MountFileSystem(
          "overlay", "overlay", root, 0,
          "lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = MountApiFileSystems(root); !s.ok()) return s;
  for (const auto& [from, to] :
       {std::pair{"tmp", "tmp"}, std::pair{"shm", "dev/shm"}}) {
    if (absl::Status s = EnsureDirectory(root / to); !s.ok()) return s;
    if (absl::Status s = BindMount(rw / from, root / to); !s.ok()) return s;
  }
  for (const char* dir : {"run", "root"}) {
    if (absl::Status s = EnsureDirectory(root / dir); !s.ok()) return s;
  }
  const fs::path agent_in_root = "/run/cloudlet-agent";
  const fs::path agent_mount_point = root / agent_in_root.relative_path();
  if (absl::Status s = CreateEmptyFile(agent_mount_point); !s.ok()) return s;
  if (absl::Status s = BindMount(initramfs_agent, agent_mount_point); !s.ok()) {
    return s;
  }
  return AgentRoot{root, agent_in_root};
}

absl::StatusOr<AgentRoot> PrepareInitramfsRoot(
    const fs::path& initramfs_agent) {
  if (absl::Status s = EnsureDirectory("/root"); !s.ok()) return s;
  if (absl::Status s =
          MountFileSystem("devpts", "devpts", "/dev/pts", 0, kDevptsOptions);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = MountFileSystem("tmpfs", "shm", "/dev/shm",
                                       MS_NOSUID | MS_NODEV, "mode=1777");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = MountFileSystem("tmpfs", "tmpfs", "/tmp",
                                       MS_NOSUID | MS_NODEV, "mode=1777");
      !s.ok()) {
    return s;
  }
  return AgentRoot{"/", initramfs_agent};
}

}  // namespace cloudlet::guest_init
