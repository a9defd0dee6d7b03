#ifndef CLOUDLET_TESTS_API_HTTP_CLIENT_H_
#define CLOUDLET_TESTS_API_HTTP_CLIENT_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cloudlet::testing {

// What a test saw of one HTTP exchange.
struct HttpResult {
  long status = 0;
  std::string content_type;
  std::string body;
  // The body as it arrived: each piece with the time it was received.
  std::vector<std::pair<absl::Time, std::string>> pieces;
  bool dropped = false;  // the test closed the connection early
};

// One HTTP request over libcurl (so chunked responses are decoded), for
// tests. `keep_going`, if given, is called after each piece of the body;
// returning false closes the connection at once (a client going away).
// `extra_headers` ("Accept: application/json") go with the request.
// Errors are transport failures only (any HTTP status is a result).
absl::StatusOr<HttpResult> HttpCall(
    const std::string& method, const std::string& url,
    const std::string& body, absl::Duration timeout,
    const std::function<bool(const HttpResult&)>& keep_going = nullptr,
    const std::vector<std::string>& extra_headers = {});

// The SSE frames of a body: (event name, data) pairs, comments skipped.
std::vector<std::pair<std::string, std::string>> SseFrames(
    const std::string& body);

// Standard base64, for the `code` of a RunRequest in JSON.
std::string Base64(const std::string& bytes);

// A /run body running `script` as a shell workload; `extra_fields`
// (", \"vm\": {...}") go into the request after the workload.
std::string ShellRun(const std::string& script,
                     const std::string& extra_fields = "");

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_API_HTTP_CLIENT_H_
