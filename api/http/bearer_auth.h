#ifndef CLOUDLET_API_HTTP_BEARER_AUTH_H_
#define CLOUDLET_API_HTTP_BEARER_AUTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cloudlet::api {

// The API's bearer token: every route but /healthz needs
// "Authorization: Bearer <token>" once one is configured. The API refuses
// to listen off loopback (common/rpc/net.h IsLoopbackHost) without one.

// The token in `path` (--auth_token_file), surrounding whitespace
// dropped. InvalidArgument when it cannot be read, is empty, or is shorter
// than 16 characters (a token that short can be guessed).
absl::StatusOr<std::string> ReadAuthToken(const std::string& path);

// OK when `authorization` (the header's value) is "Bearer <token>";
// Unauthenticated otherwise. The comparison takes the same time wherever
// the first difference is, so that timing tells nothing of the token.
absl::Status CheckBearer(absl::string_view authorization,
                         absl::string_view token);


}  // namespace cloudlet::api

#endif  // CLOUDLET_API_HTTP_BEARER_AUTH_H_
