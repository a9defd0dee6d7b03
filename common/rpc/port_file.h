#ifndef CLOUDLET_COMMON_RPC_PORT_FILE_H_
#define CLOUDLET_COMMON_RPC_PORT_FILE_H_

#include <filesystem>

#include "absl/status/status.h"

namespace cloudlet {

// Writes "PORT\n" to `path` atomically (a sibling temp file renamed over
// it), so that a process polling for the file never reads a partial
// number. How servers started with port 0 tell their starter the port.
absl::Status WritePortFile(const std::filesystem::path& path, int port);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_RPC_PORT_FILE_H_
