#include "vmm/qemu/qmp_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sync/poll.h"
#include "google/protobuf/util/json_util.h"

namespace cloudlet::vmm {
namespace {

namespace pb = google::protobuf;

// No QMP reply we read is near this; a peer that sends more is not QEMU.
constexpr size_t kMaxMessageBytes = 1 << 20;

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status AwaitFd(int fd, short events, absl::Time deadline) {
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("QEMU's QMP did not answer in time");
    }
    pollfd pfd{.fd = fd, .events = events, .revents = 0};
    int timeout_ms = static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1000));
    int ready = ::poll(&pfd, 1, timeout_ms);
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) return Errno("poll on QMP socket");
  }
}

}  // namespace

absl::StatusOr<QmpClient> QmpClient::Connect(const std::filesystem::path& dir,
                                             absl::string_view socket_name,
                                             absl::Time deadline) {
  UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) return Errno(absl::StrCat("open ", dir.string()));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::string path =
      absl::StrCat("/proc/self/fd/", dir_fd.get(), "/", socket_name);
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError("QMP socket name too long");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  UniqueFd socket;
  absl::Status connected = PollUntil(
      "QEMU's QMP socket", deadline,
      [&]() -> absl::StatusOr<bool> {
        socket = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!socket) return Errno("socket");
        if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address),
                      sizeof(address)) == 0) {
          return true;
        }
        if (errno == ENOENT || errno == ECONNREFUSED) return false;
        return Errno(absl::StrCat("connect to ", (dir / std::string(socket_name)).string()));
      },
      absl::Milliseconds(1), absl::Milliseconds(20));
  if (!connected.ok()) return connected;

  QmpClient client(std::move(socket));
  absl::StatusOr<pb::Struct> greeting = client.ReadMessage(deadline);
  if (!greeting.ok()) return greeting.status();
  if (!greeting->fields().contains("QMP")) {
    return absl::InternalError("the QMP socket did not greet like QEMU");
  }
  absl::StatusOr<pb::Value> capabilities =
      client.Execute("qmp_capabilities", deadline);
  if (!capabilities.ok()) return capabilities.status();
  return client;
}

absl::StatusOr<pb::Value> QmpClient::Execute(absl::string_view command,
                                             const pb::Struct& arguments,
                                             absl::Time deadline) {
  return Call(command, arguments, -1, deadline);
}

absl::Status QmpClient::SendFd(absl::string_view name, int fd,
                               absl::Time deadline) {
  pb::Struct arguments;
  (*arguments.mutable_fields())["fdname"].set_string_value(std::string(name));
  return Call("getfd", arguments, fd, deadline).status();
}

absl::StatusOr<pb::Value> QmpClient::Call(absl::string_view command,
                                          const pb::Struct& arguments, int fd,
                                          absl::Time deadline) {
  pb::Struct request;
  (*request.mutable_fields())["execute"].set_string_value(std::string(command));
  if (!arguments.fields().empty()) {
    *(*request.mutable_fields())["arguments"].mutable_struct_value() =
        arguments;
  }
  std::string line;
  if (!pb::util::MessageToJsonString(request, &line).ok()) {
    return absl::InternalError("cannot encode a QMP command");
  }
  line.push_back('\n');
  for (size_t sent = 0; sent < line.size();) {
    if (absl::Status writable = AwaitFd(socket_.get(), POLLOUT, deadline);
        !writable.ok()) {
      return writable;
    }
    iovec data{.iov_base = line.data() + sent, .iov_len = line.size() - sent};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0 && sent == 0) {  // with the first byte only
      message.msg_control = control;
      message.msg_controllen = sizeof(control);
      cmsghdr* header = CMSG_FIRSTHDR(&message);
      header->cmsg_level = SOL_SOCKET;
      header->cmsg_type = SCM_RIGHTS;
      header->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
    }
    ssize_t n = ::sendmsg(socket_.get(), &message, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Errno(absl::StrCat("QMP ", command));
    }
    sent += static_cast<size_t>(n);
  }
  for (;;) {
    absl::StatusOr<pb::Struct> reply = ReadMessage(deadline);
    if (!reply.ok()) return reply.status();
    const auto& fields = reply->fields();
    if (auto ok = fields.find("return"); ok != fields.end()) return ok->second;
    if (auto error = fields.find("error"); error != fields.end()) {
      const auto& details = error->second.struct_value().fields();
      auto desc = details.find("desc");
      return absl::FailedPreconditionError(absl::StrCat(
          "QMP ", command, ": ",
          desc != details.end() ? desc->second.string_value() : "error"));
    }
    // An event ({"event": ...}): not the reply.
  }
}

absl::StatusOr<pb::Struct> QmpClient::ReadMessage(absl::Time deadline) {
  for (;;) {
    if (size_t end = received_.find('\n'); end != std::string::npos) {
      std::string line = received_.substr(0, end);
      received_.erase(0, end + 1);
      pb::Struct message;
      if (!pb::util::JsonStringToMessage(line, &message).ok()) {
        return absl::InternalError(
            absl::StrCat("QEMU sent a QMP line that is not a JSON object: ",
                         line.substr(0, 200)));
      }
      return message;
    }
    if (received_.size() > kMaxMessageBytes) {
      return absl::InternalError("QEMU sent an oversized QMP message");
    }
    if (absl::Status readable = AwaitFd(socket_.get(), POLLIN, deadline);
        !readable.ok()) {
      return readable;
    }
    char buffer[4096];
    ssize_t n = ::recv(socket_.get(), buffer, sizeof(buffer), 0);
    if (n == 0) return absl::UnavailableError("QEMU closed its QMP socket");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Errno("read from QMP socket");
    }
    received_.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace cloudlet::vmm
