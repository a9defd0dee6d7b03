#ifndef CLOUDLET_API_FUNCTIONS_FUNCTION_REGISTRY_H_
#define CLOUDLET_API_FUNCTIONS_FUNCTION_REGISTRY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent.pb.h"
#include "api.pb.h"

namespace cloudlet::api {

// A version as an invocation needs it.
struct StoredVersion {
  uint64_t version = 0;
  v1::Workload workload;  // as deployed: code, language, defaults
};

// The functions' metadata and each version's source, so that any VMM can
// build a version it never saw. Every call is one transaction; a crash of
// the process at any point leaves the registry as of the last completed
// call. Implementations are thread-safe and may be shared by processes.
// Errors: NotFound for an unknown function (naming it), Unavailable when
// the store itself fails (naming its file or server), InvalidArgument for a
// bad name.
class FunctionRegistry {
 public:
  virtual ~FunctionRegistry() = default;

  // Stores `workload` as the next version of `name` (1 for a new name),
  // BUILDING. Two calls at once both land, as consecutive versions.
  virtual absl::StatusOr<uint64_t> AddVersion(absl::string_view name,
                                              const v1::Workload& workload) = 0;

  // Records how a version's build ended. A function deleted meanwhile is
  // not an error.
  virtual absl::Status SetBuildState(absl::string_view name, uint64_t version,
                                     v1::BuildState state,
                                     absl::string_view message) = 0;

  // Every function, by name, without their version lists.
  virtual absl::StatusOr<std::vector<v1::Function>> List() = 0;

  // One function with its versions, newest first.
  virtual absl::StatusOr<v1::Function> Get(absl::string_view name) = 0;

  // The newest READY version. FailedPrecondition when the function has none
  // (yet), saying what state its newest version is in.
  virtual absl::StatusOr<StoredVersion> ReadyVersion(
      absl::string_view name) = 0;

  // Counts one invocation of `name` and keeps `result` as its last.
  virtual absl::Status RecordInvocation(absl::string_view name,
                                        const v1::Result& result) = 0;

  // Removes the function and all of its versions.
  virtual absl::Status Delete(absl::string_view name) = 0;
};

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_FUNCTIONS_FUNCTION_REGISTRY_H_
