#ifndef CLOUDLET_API_FUNCTIONS_SQLITE_REGISTRY_H_
#define CLOUDLET_API_FUNCTIONS_SQLITE_REGISTRY_H_

#include <filesystem>
#include <memory>

#include "absl/status/statusor.h"
#include "api/functions/function_registry.h"

namespace cloudlet::api {

// The embedded registry: one SQLite file (Debian's libsqlite3) in WAL mode,
// so that readers never wait for a writer and a killed process loses no
// committed call; its schema version is SQLite's user_version, and Open
// applies the migrations a file made by an older cloudlet-api lacks.
// Several processes may open one file (writers take turns, waiting up to
// 5 s for each other).
//
// Open creates the file (and its folder) when missing. Unavailable naming
// the file when it cannot be opened, written, or is not a registry (a
// corrupt file, or one made by a newer version).
absl::StatusOr<std::unique_ptr<FunctionRegistry>> OpenSqliteRegistry(
    const std::filesystem::path& file);

// A registry whose every call fails with `why` (Unavailable): what the API
// serves when its registry could not be opened, so that /run keeps working
// and the function routes say why they do not.
std::unique_ptr<FunctionRegistry> UnavailableRegistry(absl::Status why);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_FUNCTIONS_SQLITE_REGISTRY_H_
