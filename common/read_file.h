#ifndef CLOUDLET_COMMON_READ_FILE_H_
#define CLOUDLET_COMMON_READ_FILE_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace cloudlet {

// The whole content of the file at `path`, refused before reading when it
// is over `max_bytes`: NotFound when it cannot be stat'ed, ResourceExhausted
// naming the size and the limit, Internal when reading fails.
absl::StatusOr<std::string> ReadFileUpTo(const std::filesystem::path& path,
                                         uint64_t max_bytes);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_READ_FILE_H_
