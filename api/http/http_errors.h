#ifndef CLOUDLET_API_HTTP_HTTP_ERRORS_H_
#define CLOUDLET_API_HTTP_HTTP_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cloudlet::api {

// The one place where a Status (from request decoding or from the VMM,
// whose gRPC codes are the same numbers) becomes an HTTP status:
//   INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE  -> 400
//   NOT_FOUND                                            -> 404
//   UNIMPLEMENTED                                        -> 405
//   RESOURCE_EXHAUSTED                                   -> 429
//   UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, ABORTED   -> 503
//   anything else                                        -> 500
// OK is not an error and maps to 200.
int HttpStatusFor(absl::StatusCode code);

// The body of every error response, one JSON object on one line:
// {"code":"RESOURCE_EXHAUSTED","message":"all 2 VM slots and the queue ..."}.
// `code` is the canonical code name.
std::string ErrorJson(absl::string_view code, absl::string_view message);
std::string ErrorJson(const absl::Status& status);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_HTTP_HTTP_ERRORS_H_
