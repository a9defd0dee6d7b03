#include "cli/client/api_client.h"

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <memory>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cloudlet::cli {
namespace {

constexpr absl::string_view kNotListeningPayload =
    "cloudlet.dev/api-not-listening";
constexpr size_t kMaxErrorBody = size_t{64} << 10;

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// What the write callback needs: a streaming response is parsed as it
// arrives, anything else collected.
struct Receiver {
  CURL* easy = nullptr;
  SseParser* parser = nullptr;  // only for POST /run
  HttpReply reply;
  bool streaming = false;
  bool decided = false;
};

size_t OnData(char* data, size_t size, size_t count, void* user) {
  auto* receiver = static_cast<Receiver*>(user);
  size_t bytes = size * count;
  if (!receiver->decided) {
    curl_easy_getinfo(receiver->easy, CURLINFO_RESPONSE_CODE,
                      &receiver->reply.status);
    receiver->streaming =
        receiver->parser != nullptr && receiver->reply.status == 200;
    receiver->decided = true;
  }
  if (receiver->streaming) {
    receiver->parser->Feed(absl::string_view(data, bytes));
  } else if (receiver->reply.body.size() < kMaxErrorBody) {
    receiver->reply.body.append(data, bytes);
  }
  return bytes;
}

absl::Status TransportError(CURLcode code, const char* detail,
                            absl::string_view url) {
  std::string message = absl::StrCat(
      "cannot reach the API at ", url, ": ",
      detail[0] != '\0' ? detail : curl_easy_strerror(code));
  if (code == CURLE_COULDNT_CONNECT) {
    absl::Status status = absl::UnavailableError(message);
    status.SetPayload(kNotListeningPayload, absl::Cord("1"));
    return status;
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(message);
  }
  return absl::UnavailableError(message);
}

// Runs one transfer through the multi interface so that the wait can also
// watch the interrupt descriptor.
absl::Status Perform(CURL* easy, int interrupt_fd, absl::string_view url,
                     const std::function<void()>& on_tick) {
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  curl_multi_add_handle(multi.get(), easy);
  absl::Time next_tick = absl::Now() + absl::Seconds(1);
  int running = 1;
  absl::Status status;
  while (true) {
    CURLMcode code = curl_multi_perform(multi.get(), &running);
    if (code != CURLM_OK) {
      status = absl::InternalError(
          absl::StrCat("curl: ", curl_multi_strerror(code)));
      break;
    }
    if (running == 0) break;
    curl_waitfd extra{};
    extra.fd = interrupt_fd;
    extra.events = CURL_WAIT_POLLIN;
    int extra_count = interrupt_fd >= 0 ? 1 : 0;
    curl_multi_poll(multi.get(), extra_count > 0 ? &extra : nullptr,
                    extra_count, 250, nullptr);
    if (extra_count > 0 && (extra.revents & CURL_WAIT_POLLIN) != 0) {
      status = absl::CancelledError("interrupted");
      break;
    }
    if (on_tick && absl::Now() >= next_tick) {
      on_tick();
      next_tick = absl::Now() + absl::Seconds(1);
    }
  }
  if (status.ok()) {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &left)) {
      if (message->msg == CURLMSG_DONE && message->data.result != CURLE_OK) {
        status = TransportError(message->data.result, error, url);
      }
    }
  }
  // Removing the handle and cleaning it up closes the connection: for an
  // interrupted run that is what tells the API to cancel it.
  curl_multi_remove_handle(multi.get(), easy);
  return status;
}

// Sockets are opened close-on-exec: a child process started meanwhile (a
// daemon, a workload) must not inherit the connection and keep it open after
// this side closed it.
curl_socket_t OpenCloexecSocket(void*, curlsocktype, curl_sockaddr* address) {
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC,
                  address->protocol);
}

std::unique_ptr<CURL, EasyDeleter> NewEasy(const std::string& url) {
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (easy == nullptr) return easy;
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy.get(), CURLOPT_OPENSOCKETFUNCTION, &OpenCloexecSocket);
  curl_easy_setopt(easy.get(), CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(easy.get(), CURLOPT_TCP_NODELAY, 1L);
  // The API is local or explicitly configured: never through a proxy from
  // the environment (http_proxy would swallow the event stream).
  curl_easy_setopt(easy.get(), CURLOPT_NOPROXY, "*");
  curl_easy_setopt(easy.get(), CURLOPT_USERAGENT, "cloudlet/" CLOUDLET_VERSION);
  return easy;
}

// Appends "Authorization: Bearer <token>" when there is a token.
curl_slist* WithBearer(curl_slist* headers, const std::string& token) {
  if (token.empty()) return headers;
  return curl_slist_append(headers,
                           absl::StrCat("Authorization: Bearer ", token).c_str());
}

// `method` is GET, POST (with `body` as JSON) or DELETE.
absl::StatusOr<HttpReply> Request(const std::string& url,
                                  absl::string_view method,
                                  absl::string_view body,
                                  absl::Duration timeout, int interrupt_fd,
                                  const std::string& bearer_token) {
  const bool post = method == "POST";
  std::unique_ptr<CURL, EasyDeleter> easy = NewEasy(url);
  if (easy == nullptr) return absl::InternalError("curl_easy_init failed");
  Receiver receiver;
  receiver.easy = easy.get();
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &OnData);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &receiver);
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  std::unique_ptr<curl_slist, SlistDeleter> headers(
      WithBearer(nullptr, bearer_token));
  if (post) {
    headers.reset(curl_slist_append(headers.release(),
                                    "Content-Type: application/json"));
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
  } else if (method == "DELETE") {
    curl_easy_setopt(easy.get(), CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  if (headers != nullptr) {
    curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
  }
  absl::Status status = Perform(easy.get(), interrupt_fd, url, nullptr);
  if (!status.ok()) return status;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &receiver.reply.status);
  return receiver.reply;
}

absl::StatusCode CodeFromName(absl::string_view name) {
  for (int code = 0; code <= 16; ++code) {
    if (absl::StatusCodeToString(static_cast<absl::StatusCode>(code)) == name) {
      return static_cast<absl::StatusCode>(code);
    }
  }
  return absl::StatusCode::kUnknown;
}

absl::StatusCode CodeFromHttp(long status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
      return absl::StatusCode::kUnimplemented;
    case 413:
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 503:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

ApiClient::ApiClient(std::string base_url, int interrupt_fd,
                     std::string bearer_token)
    : base_url_(std::move(base_url)),
      bearer_token_(std::move(bearer_token)),
      interrupt_fd_(interrupt_fd) {}

bool ApiClient::Interrupted() const {
  if (interrupt_fd_ < 0) return false;
  pollfd pfd{.fd = interrupt_fd_, .events = POLLIN, .revents = 0};
  return ::poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN) != 0;
}

absl::StatusOr<HttpReply> ApiClient::Get(absl::string_view path,
                                         absl::Duration timeout) {
  return Request(absl::StrCat(base_url_, path), "GET", "", timeout,
                 interrupt_fd_, bearer_token_);
}

absl::StatusOr<HttpReply> ApiClient::Post(absl::string_view path,
                                          absl::string_view json_body,
                                          absl::Duration timeout) {
  return Request(absl::StrCat(base_url_, path), "POST", json_body, timeout,
                 interrupt_fd_, bearer_token_);
}

absl::StatusOr<HttpReply> ApiClient::Delete(absl::string_view path,
                                            absl::Duration timeout) {
  return Request(absl::StrCat(base_url_, path), "DELETE", "", timeout,
                 interrupt_fd_, bearer_token_);
}

absl::Status ApiClient::StreamRun(
    absl::string_view json_body,
    const std::function<void(const SseEvent&)>& on_event,
    const std::function<void()>& on_tick) {
  return StreamPost("/run", json_body, on_event, on_tick);
}

absl::Status ApiClient::StreamPost(
    absl::string_view path, absl::string_view json_body,
    const std::function<void(const SseEvent&)>& on_event,
    const std::function<void()>& on_tick) {
  std::string url = absl::StrCat(base_url_, path);
  std::unique_ptr<CURL, EasyDeleter> easy = NewEasy(url);
  if (easy == nullptr) return absl::InternalError("curl_easy_init failed");
  SseParser parser(on_event);
  Receiver receiver;
  receiver.easy = easy.get();
  receiver.parser = &parser;
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &OnData);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &receiver);
  std::unique_ptr<curl_slist, SlistDeleter> headers(curl_slist_append(
      WithBearer(nullptr, bearer_token_), "Content-Type: application/json"));
  headers.reset(curl_slist_append(headers.release(),
                                  "Accept: text/event-stream"));
  // No "Expect: 100-continue" round trip for large bodies.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));
  curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, json_body.data());
  curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(json_body.size()));
  absl::Status status = Perform(easy.get(), interrupt_fd_, url, on_tick);
  if (!status.ok()) return status;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &receiver.reply.status);
  if (receiver.reply.status != 200) return StatusFromReply(receiver.reply);
  if (parser.HasPartialEvent()) {
    return absl::UnavailableError("the API's event stream was cut mid-event");
  }
  return absl::OkStatus();
}

bool IsNotListening(const absl::Status& status) {
  return status.GetPayload(kNotListeningPayload).has_value();
}

absl::Status StatusFromReply(const HttpReply& reply) {
  google::protobuf::Struct body;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  std::string message;
  absl::StatusCode code = CodeFromHttp(reply.status);
  if (google::protobuf::util::JsonStringToMessage(reply.body, &body, lenient)
          .ok()) {
    auto field = [&](const char* key) -> std::string {
      auto it = body.fields().find(key);
      return it == body.fields().end() ? "" : it->second.string_value();
    };
    if (absl::StatusCode named = CodeFromName(field("code"));
        named != absl::StatusCode::kUnknown && named != absl::StatusCode::kOk) {
      code = named;
    }
    message = field("message");
  }
  if (message.empty()) {
    message = reply.body.empty() ? "(no details)" : reply.body;
    while (!message.empty() && message.back() == '\n') message.pop_back();
  }
  return absl::Status(code,
                      absl::StrCat("the API answered ", reply.status, ": ",
                                   message));
}

}  // namespace cloudlet::cli
