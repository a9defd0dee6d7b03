#ifndef CLOUDLET_VMM_ARTIFACTS_H_
#define CLOUDLET_VMM_ARTIFACTS_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "agent.pb.h"
#include "vmm.pb.h"

namespace cloudlet::vmm {

// The three files a microVM boots from.
struct GuestArtifacts {
  std::filesystem::path kernel;     // bzImage
  std::filesystem::path initramfs;  // cpio with /init, busybox, the agent
  std::filesystem::path image;      // the language's squashfs root
};

// Called with each preparation step ("kernel: building", "image/python:
// cached") so the VMM can stream it; may be called from the thread that
// calls Ensure only.
using ProgressCallback = std::function<void(const v1::Progress&)>;

// Returns true when the caller no longer wants the result.
using CancelledFn = std::function<bool()>;

struct ArtifactCacheOptions {
  // ${CLOUDLET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlet} when
  // empty.
  std::filesystem::path cache_dir;
  // The checkout holding kernel/ and initramfs/ (their scripts and inputs).
  std::filesystem::path source_dir;
  // The statically linked cloudlet-agent that goes into the initramfs.
  std::filesystem::path agent_binary;
};

// Builds guest artifacts on first use and caches them under a key that
// hashes all of their inputs. Thread-safe; safe across processes (a lock
// file per artifact: two processes asking at once build once).
class ArtifactCache {
 public:
  // InvalidArgument when source_dir lacks the build scripts or the agent
  // binary is missing.
  static absl::StatusOr<std::unique_ptr<ArtifactCache>> Open(
      ArtifactCacheOptions options);
  virtual ~ArtifactCache() = default;

  // Returns the kernel, the initramfs and `language`'s image, building what
  // is missing (reporting each step through `progress`). A warm-cache call
  // costs a few stat()s. Cancelled when `cancelled` turns true while
  // waiting (a build in progress continues for the next caller only if
  // another caller waits for it, else it is stopped and leaves nothing);
  // Internal/Unavailable with the build's output tail when a build fails,
  // leaving no entry.
  virtual absl::StatusOr<GuestArtifacts> Ensure(
      v1::Language language, const ProgressCallback& progress,
      const CancelledFn& cancelled) = 0;

  // What is cached now: kernel, initramfs, image/<language> for every
  // language.
  virtual std::vector<v1::ArtifactState> List() const = 0;

  static std::filesystem::path DefaultCacheDir();
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_ARTIFACTS_H_
