#ifndef CLOUDLET_VMM_ARTIFACTS_H_
#define CLOUDLET_VMM_ARTIFACTS_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent.pb.h"
#include "vmm.pb.h"

namespace cloudlet::vmm {

// Shared locks on cache entries (see GuestArtifacts::lease).
class ArtifactLease;

// The three files a microVM boots from.
struct GuestArtifacts {
  std::filesystem::path kernel;     // bzImage
  std::filesystem::path initramfs;  // cpio with /init, busybox, the agent
  std::filesystem::path image;      // the language's squashfs root
  // Marks the three cache entries as in use, so that PruneArtifactCache
  // leaves them alone: keep it (or a copy) until the VM is gone.
  std::shared_ptr<const ArtifactLease> lease;
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
  // The statically linked binaries that go into the initramfs: the guest's
  // /init (cloudlet-init) and the agent.
  std::filesystem::path init_binary;
  std::filesystem::path agent_binary;
};

// The artifact names, in build order: "kernel", "initramfs", then
// "image/<language>" for every language ("image/rust", ...).
std::vector<std::string> AllArtifactNames();
// "image/python" for PYTHON.
std::string ImageArtifactName(v1::Language language);

// Where the cache keeps an artifact (see ArtifactCache for the layout).
// "image-python" for "image/python"; empty for an unknown name.
std::string ArtifactEntryPrefix(absl::string_view name);
// "image-python-0defb5d5bfe5dfd7": the entry of `name` built from inputs
// hashing to `key` (its first 16 hex digits); empty for an unknown name.
std::string ArtifactEntryName(absl::string_view name, absl::string_view key);
// <cache>/locks/<entry>.lock: held (exclusive) while the entry is built.
std::filesystem::path EntryBuildLockPath(const std::filesystem::path& cache_dir,
                                         absl::string_view entry);
// <cache>/locks/<entry>.use: held shared by every GuestArtifacts::lease on
// the entry; pruning takes it exclusively.
std::filesystem::path EntryUseLockPath(const std::filesystem::path& cache_dir,
                                       absl::string_view entry);

// Builds guest artifacts on first use and caches them under a key that
// hashes all of their inputs (build script, kernel config fragment and
// source package version, the /init and agent binaries, busybox, the image's
// package list and the apt index dates). Layout:
//   <cache>/kernel-<key16>/bzImage, <cache>/initramfs-<key16>/initrd.cpio,
//   <cache>/image-<lang>-<key16>/image.sqfs
// Builds run in <cache>/tmp/ and are renamed into place; a lock file per
// artifact and key (<cache>/locks/) makes two builders, threads or
// processes, build once: the second waits, then finds the entry. Entries
// stay until PruneArtifactCache (vmm/artifact_prune.h) removes the ones no
// current input hashes to. Thread-safe.
class ArtifactCache {
 public:
  // InvalidArgument when source_dir lacks the build scripts or the init or
  // agent binary is missing; Internal when the cache dir cannot be created.
  static absl::StatusOr<std::unique_ptr<ArtifactCache>> Open(
      ArtifactCacheOptions options);
  virtual ~ArtifactCache() = default;

  // Returns the kernel, the initramfs and `language`'s image, building what
  // is missing (reporting each step through `progress`), with a lease on
  // the three. A warm-cache call costs a few stat()s and flock()s (input
  // hashes are memoized per process, keyed by the inputs' stat).
  // `cancelled` is polled at least every 100 ms while waiting for another
  // builder and while building: when it turns true the call returns
  // Cancelled, and a build it was running is stopped and leaves nothing (a
  // caller waiting on it then builds itself). A failed
  // build leaves no entry and returns Internal with the tail of the build
  // script's output.
  virtual absl::StatusOr<GuestArtifacts> Ensure(
      v1::Language language, const ProgressCallback& progress,
      const CancelledFn& cancelled) = 0;

  // Ensures one artifact by name (see AllArtifactNames) and returns its
  // file. InvalidArgument for an unknown name; otherwise as Ensure.
  virtual absl::StatusOr<std::filesystem::path> EnsureArtifact(
      absl::string_view name, const ProgressCallback& progress,
      const CancelledFn& cancelled) = 0;

  // What is cached now, one entry per AllArtifactNames() element, with the
  // key its current inputs hash to, and how often this instance found each
  // artifact cached or built it (cache_hits, builds, build_failures; a
  // cancelled build counts as neither). Never builds.
  virtual std::vector<v1::ArtifactState> List() const = 0;

  virtual const std::filesystem::path& cache_dir() const = 0;

  static std::filesystem::path DefaultCacheDir();
};

// A size as the artifact commands and progress lines print it: "2.9 MB",
// "512.0 kB" (decimal units).
std::string FormatSize(uintmax_t bytes);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_ARTIFACTS_H_
