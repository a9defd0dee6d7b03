#ifndef CLOUDLET_VMM_SERVICE_ARTIFACTS_COMMAND_H_
#define CLOUDLET_VMM_SERVICE_ARTIFACTS_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "vmm/artifacts/artifact_cache.h"

namespace cloudlet::vmm {

// `cloudlet-vmm artifacts ARGS...`, with `args` the words after
// "artifacts":
//   build [NAME...]  builds what is missing (default: everything) with
//                    progress on stderr; NAME is kernel, initramfs, a
//                    language (python) or image/<language>. The kernel
//                    builds beside the rest, so a cold build of everything
//                    takes about as long as the kernel plus the images.
//   list             one line per artifact: name, cached yes/no, key prefix,
//                    size.
//   prune            removes the entries no current input hashes to and
//                    abandoned build dirs (see PruneCache), one line
//                    each, then the space freed; with `max_bytes` (> 0)
//                    then least recently used entries until the cache
//                    holds at most that; with `dry_run` removes nothing.
// Returns the process exit code: 0 on success, 1 when a build or the prune
// failed or a build was interrupted (SIGINT/SIGTERM stop the builds
// cleanly; the caller must have blocked them, see
// common/termination_signal.h), 2 for a usage error. The reason is printed
// on stderr.
int RunArtifactsCommand(const std::vector<std::string>& args,
                        const ArtifactCacheOptions& options, bool dry_run,
                        uint64_t max_bytes);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_SERVICE_ARTIFACTS_COMMAND_H_
