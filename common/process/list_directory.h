#ifndef CLOUDLET_COMMON_PROCESS_LIST_DIRECTORY_H_
#define CLOUDLET_COMMON_PROCESS_LIST_DIRECTORY_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cloudlet {

// The names in directory `dir` (not "." or ".."), in no particular order,
// or Internal naming `dir` when it cannot be read. Never throws: daemons
// list folders that users and other processes change under them, where a
// throwing std::filesystem iterator would take the whole daemon down.
absl::StatusOr<std::vector<std::string>> ListDirectory(
    const std::filesystem::path& dir);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_PROCESS_LIST_DIRECTORY_H_
