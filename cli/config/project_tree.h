#ifndef CLOUDLET_CLI_CONFIG_PROJECT_TREE_H_
#define CLOUDLET_CLI_CONFIG_PROJECT_TREE_H_

#include <cstdint>
#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"
#include "agent.pb.h"

namespace cloudlet::cli {

// The files of a project folder as a workload sends them (Workload.files),
// sorted by path, with their executable bit. Left out: every `.git`
// folder, and what the optional `.cloudletignore` at the root names, one
// gitignore-style pattern per line ("target/", "*.o", "/build", "#" starts
// a comment; a pattern with a '/' is anchored at the root, one without
// matches a name at any depth, a trailing '/' matches folders only; fnmatch
// rules). A symlink is sent as the file it points to, and must point inside
// the folder. InvalidArgument, naming the path and the limit, for a link
// that leaves the folder or dangles, a file that is not regular, over
// kMaxSourceFiles files, or over `max_bytes` (paths and contents together,
// checked before reading each file).
absl::StatusOr<std::vector<v1::File>> ReadProjectTree(
    const std::filesystem::path& root, uint64_t max_bytes);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_CONFIG_PROJECT_TREE_H_
