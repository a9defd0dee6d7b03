#ifndef CLOUDLET_API_FUNCTIONS_FUNCTION_NAME_H_
#define CLOUDLET_API_FUNCTIONS_FUNCTION_NAME_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cloudlet::api {

// The longest function name: a DNS label, so that a name can become a
// host name, a Kubernetes object or a file name unchanged.
inline constexpr size_t kMaxFunctionNameLength = 63;

// OK for 1-63 characters of [a-z0-9-] that neither start nor end with
// '-'; InvalidArgument saying what to change otherwise.
absl::Status ValidateFunctionName(absl::string_view name);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_FUNCTIONS_FUNCTION_NAME_H_
