#ifndef CLOUDLET_VMM_ARTIFACTS_DEBIAN_ARCHIVE_H_
#define CLOUDLET_VMM_ARTIFACTS_DEBIAN_ARCHIVE_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace cloudlet::vmm {

// Which packages the Debian archive has, as the host's apt cache knows it
// (the archive the runtime images are built from: mmdebstrap uses the
// host's apt sources). Thread-safe; a name found once is remembered.
class DebianArchive {
 public:
  // OK when each package has an installable version (`apt-cache show
  // --no-all-versions NAME`); InvalidArgument naming the first that does
  // not ("workload.packages: \"python3-nump\" is not in the Debian
  // archive"). Unavailable when apt-cache cannot be run. The names must
  // have passed ValidateDebianPackages: they go into an argv, never a shell.
  absl::Status CheckExist(const std::vector<std::string>& packages);

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> known_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_ARTIFACTS_DEBIAN_ARCHIVE_H_
