#include "tests/api/http_client.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace cloudlet::testing {
namespace {

struct Receiver {
  HttpResult* result;
  const std::function<bool(const HttpResult&)>* keep_going;
};

size_t OnData(char* data, size_t size, size_t count, void* user) {
  auto* receiver = static_cast<Receiver*>(user);
  size_t bytes = size * count;
  receiver->result->body.append(data, bytes);
  receiver->result->pieces.emplace_back(absl::Now(), std::string(data, bytes));
  if (*receiver->keep_going && !(*receiver->keep_going)(*receiver->result)) {
    receiver->result->dropped = true;
    return 0;  // aborts the transfer and closes the connection
  }
  return bytes;
}

// Sockets are opened close-on-exec: a child process started meanwhile (a
// daemon, a workload) must not inherit the connection and keep it open after
// this side closed it.
curl_socket_t OpenCloexecSocket(void*, curlsocktype, curl_sockaddr* address) {
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC,
                  address->protocol);
}

}  // namespace

absl::StatusOr<HttpResult> HttpCall(
    const std::string& method, const std::string& url,
    const std::string& body, absl::Duration timeout,
    const std::function<bool(const HttpResult&)>& keep_going,
    const std::vector<std::string>& extra_headers) {
  CURL* easy = curl_easy_init();
  HttpResult result;
  Receiver receiver{&result, &keep_going};
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &OpenCloexecSocket);
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnData);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &receiver);
  curl_slist* headers = curl_slist_append(nullptr,
                                          "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  for (const std::string& header : extra_headers) {
    headers = curl_slist_append(headers, header.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  if (method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  CURLcode code = curl_easy_perform(easy);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &result.status);
  char* content_type = nullptr;
  curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type != nullptr) result.content_type = content_type;
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);  // closes the connection
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && result.dropped)) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", url, ": ", curl_easy_strerror(code)));
  }
  return result;
}

std::vector<std::pair<std::string, std::string>> SseFrames(
    const std::string& body) {
  std::vector<std::pair<std::string, std::string>> frames;
  for (absl::string_view frame : absl::StrSplit(body, "\n\n")) {
    std::string event, data;
    for (absl::string_view line : absl::StrSplit(frame, '\n')) {
      if (absl::StartsWith(line, "event: ")) event = std::string(line.substr(7));
      if (absl::StartsWith(line, "data: ")) data = std::string(line.substr(6));
    }
    if (!event.empty()) frames.emplace_back(event, data);
  }
  return frames;
}

std::string Base64(const std::string& bytes) { return absl::Base64Escape(bytes); }

std::string ShellRun(const std::string& script,
                     const std::string& extra_fields) {
  return absl::StrCat(R"({"workload": {"language": "SHELL", "code": ")",
                      Base64(script), "\"}", extra_fields, "}");
}

}  // namespace cloudlet::testing
