#ifndef CLOUDLET_INITRAMFS_GUEST_INIT_MOUNTS_H_
#define CLOUDLET_INITRAMFS_GUEST_INIT_MOUNTS_H_

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cloudlet::guest_init {

// mount(2) of a `type` file system from `source` on `target`, creating the
// mount point (0755) when it is missing. Internal naming the file system,
// the target, the options and the error otherwise.
absl::Status MountFileSystem(const char* type, const char* source,
                             const std::filesystem::path& target,
                             unsigned long flags = 0,
                             const std::string& options = "");

// Where the agent runs: the root it is chrooted to and its path there.
struct AgentRoot {
  std::filesystem::path root;
  std::filesystem::path agent;
};

// Build the root the agent runs in, from an initramfs whose /proc, /sys and
// /dev are mounted already (docs/guest.md, "/init"). Each returns the first
// failing step's error, naming it.

// Over the block device `image` (the language image, squashfs): the image
// read-only at /mnt/lower; one tmpfs of half the memory at /mnt/rw holding
// the overlay's upper and work dirs and the guest's /tmp and /dev/shm, so
// that all of a workload's writes together take at most half of the
// memory; the overlay at /mnt/root with proc, sys, dev, dev/pts, tmp,
// dev/shm and the /dev/fd and /dev/std* links; `initramfs_agent`
// bind-mounted at /mnt/root/run/cloudlet-agent.
absl::StatusOr<AgentRoot> PrepareOverlayRoot(
    const std::filesystem::path& image,
    const std::filesystem::path& initramfs_agent);

// Without an image: the initramfs itself, with dev/pts, a /dev/shm and a
// /tmp.
absl::StatusOr<AgentRoot> PrepareInitramfsRoot(
    const std::filesystem::path& initramfs_agent);

}  // namespace cloudlet::guest_init

#endif  // CLOUDLET_INITRAMFS_GUEST_INIT_MOUNTS_H_
