#ifndef CLOUDLET_VMM_ARTIFACTS_ARTIFACT_CACHE_H_
#define CLOUDLET_VMM_ARTIFACTS_ARTIFACT_CACHE_H_

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent.pb.h"
#include "vmm.pb.h"
#include "common/sync/cancel.h"
#include "vmm/cache/cache_store.h"

namespace cloudlet::vmm {

// Shared locks on cache entries (see GuestArtifacts::lease).
class ArtifactLease;

// The three files a microVM boots from.
struct GuestArtifacts {
  std::filesystem::path kernel;     // bzImage
  std::filesystem::path initramfs;  // cpio with /init, busybox, the agent
  std::filesystem::path image;      // the language's squashfs root
  // Names the runtime a workload builds in (the image, and the initramfs
  // with the agent): part of a build's cache key (build_cache.h).
  std::string runtime_key;
  // Leases the three cache entries, so that no prune removes them: keep
  // it (or a copy) until the VM is gone. Null for host agents.
  std::shared_ptr<const ArtifactLease> lease;
};

// The runtime a workload needs: its language's image, plus the Debian
// packages it adds (an image variant). Implicit from a language: the base
// image.
struct Runtime {
  Runtime(v1::Language language_in,  // NOLINT(google-explicit-constructor)
          std::vector<std::string> packages_in = {})
      : language(language_in), packages(std::move(packages_in)) {}
  v1::Language language;
  // Sorted, each once (CanonicalPackages), valid Debian names.
  std::vector<std::string> packages;
};

// Called with each preparation step ("kernel: building", "image/python:
// cached") so the VMM can stream it; may be called from the thread that
// calls Ensure only.
using ProgressCallback = std::function<void(const v1::Progress&)>;


struct ArtifactCacheOptions {
  // CacheStore::DefaultDir() when empty.
  std::filesystem::path cache_dir;
  // The checkout holding kernel/ and initramfs/ (their scripts and inputs).
  std::filesystem::path source_dir;
  // The statically linked binaries that go into the initramfs: the guest's
  // /init (cloudlet-init) and the agent.
  std::filesystem::path init_binary;
  std::filesystem::path agent_binary;
};

// The kind of image variant entries ("variant-python"): the prefix and
// the language.
inline constexpr char kVariantEntryPrefix[] = "variant-";
std::string VariantEntryKind(v1::Language language);

// The artifact names, in build order: "kernel", "initramfs", then
// "image/<language>" for every language ("image/rust", ...).
std::vector<std::string> AllArtifactNames();
// "image/python" for PYTHON.
std::string ImageArtifactName(v1::Language language);

// Builds guest artifacts on first use and keeps them in the cache store
// (vmm/cache/cache_store.h) under a key that hashes all of their inputs
// (build script, kernel config fragment and source package version, the
// /init and agent binaries, busybox, the image's package list and the apt
// index dates). Entries, of kinds "kernel", "initramfs", "image-<lang>":
//   kernel-<key16>/bzImage, initramfs-<key16>/initrd.cpio,
//   image-<lang>-<key16>/image.sqfs
// The store builds each once across threads and processes and leaves
// nothing of a failed build. Entries stay until a prune (service/
// artifacts_command.h) removes those no current input hashes to.
// Thread-safe.
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
  // `cancel` is checked at least every CancelToken::kPollInterval while
  // waiting for another builder and while building: once cancelled the
  // call returns
  // Cancelled, and a build it was running is stopped and leaves nothing (a
  // caller waiting on it then builds itself). A failed
  // build leaves no entry and returns Internal with the tail of the build
  // script's output.
  //
  // With packages, the image is a variant: the language's image built with
  // them added (entry variant-<lang>-<key16>, the key hashing the base
  // image's inputs and the package list), made once and shared by every
  // workload with the same list; its build streams like the others'.
  virtual absl::StatusOr<GuestArtifacts> Ensure(
      const Runtime& runtime, const ProgressCallback& progress,
      const CancelToken& cancel) = 0;

  // OK when every package is in the Debian archive the images are built
  // from (answered from the host's apt cache, in milliseconds, and
  // remembered); InvalidArgument naming the first that is not. Checked
  // before a run is accepted, so that a typo costs no VM and no build.
  virtual absl::Status CheckPackages(
      const std::vector<std::string>& packages) = 0;

  // Ensures one artifact by name (see AllArtifactNames) and returns its
  // file. InvalidArgument for an unknown name; otherwise as Ensure.
  virtual absl::StatusOr<std::filesystem::path> EnsureArtifact(
      absl::string_view name, const ProgressCallback& progress,
      const CancelToken& cancel) = 0;

  // What is cached now, one entry per AllArtifactNames() element, with the
  // key its current inputs hash to, and how often the store found each
  // artifact cached or built it (cache_hits, builds, build_failures; a
  // cancelled build counts as neither). Never builds.
  virtual std::vector<v1::ArtifactState> List() const = 0;

  // By entry kind ("kernel", "image-python"): the entry the current inputs
  // hash to ("kernel-2c72e194fbfcacbc"), nullopt when an input is missing
  // and no entry of the kind can be called current or stale.
  virtual std::map<std::string, std::optional<std::string>> CurrentEntries()
      const = 0;

  // The store the entries live in; null when there is none (no VMs).
  virtual const std::shared_ptr<CacheStore>& store() const = 0;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_ARTIFACTS_ARTIFACT_CACHE_H_
