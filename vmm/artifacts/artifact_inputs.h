#ifndef CLOUDLET_VMM_ARTIFACTS_ARTIFACT_INPUTS_H_
#define CLOUDLET_VMM_ARTIFACTS_ARTIFACT_INPUTS_H_

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace cloudlet::vmm {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// Digests of the inputs of guest artifacts, memoized so that a warm cache
// check costs a few stat()s: file digests are keyed by the file's path,
// size, mtime and inode; facts about the machine (package versions, apt
// index dates) are computed once per object. Thread-safe.
class InputHasher {
 public:
  // SHA-256 of the file's content. NotFound when it does not exist.
  absl::StatusOr<std::string> FileDigest(const std::filesystem::path& path);

  // The version of Debian's linux-source-6.1 package (dpkg-query), or an
  // error naming the package when it is not installed.
  absl::StatusOr<std::string> LinuxSourceVersion();

  // What decides which package versions mmdebstrap installs: the apt
  // sources configuration and the Date of every downloaded Release index
  // (changes when `apt-get update` finds a newer archive).
  std::string AptState();

 private:
  struct FileId {
    uintmax_t size;
    int64_t mtime_ns;
    uint64_t inode;
    bool operator==(const FileId&) const = default;
  };
  struct Digest {
    FileId id;
    std::string sha256;
  };

  absl::Mutex mutex_;
  std::map<std::string, Digest> files_ ABSL_GUARDED_BY(mutex_);
  std::optional<absl::StatusOr<std::string>> linux_version_
      ABSL_GUARDED_BY(mutex_);
  std::optional<std::string> apt_state_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_ARTIFACTS_ARTIFACT_INPUTS_H_
