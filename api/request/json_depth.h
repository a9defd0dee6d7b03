#ifndef CLOUDLET_API_REQUEST_JSON_DEPTH_H_
#define CLOUDLET_API_REQUEST_JSON_DEPTH_H_

#include "absl/strings/string_view.h"

namespace cloudlet::api {

// The deepest nesting of arrays and objects in `json` (0 for a bare
// scalar), counting the brackets outside string literals, in one pass. It
// does not validate the JSON: it is the cheap check that runs before a
// parser whose cost grows faster than the input with nesting (protobuf's
// Struct transcoder takes minutes for 200 KB of nested arrays).
int JsonNestingDepth(absl::string_view json);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_REQUEST_JSON_DEPTH_H_
