#ifndef CLOUDLET_VMM_QEMU_QMP_CLIENT_H_
#define CLOUDLET_VMM_QEMU_QMP_CLIENT_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/process/unique_fd.h"
#include "google/protobuf/struct.pb.h"

namespace cloudlet::vmm {

// A client of QEMU's machine protocol (QMP: one JSON object per line) on a
// Unix socket, in command mode. Asynchronous events QEMU sends between
// replies are skipped. One command at a time; move-only.
class QmpClient {
 public:
  // Connects to the socket `socket_name` in `dir` (through the directory's
  // fd, so that a long `dir` does not hit the 108-byte socket path limit),
  // reads QEMU's greeting and enters command mode. Retries while the socket
  // is missing or refuses, until `deadline` (DeadlineExceeded).
  static absl::StatusOr<QmpClient> Connect(const std::filesystem::path& dir,
                                           absl::string_view socket_name,
                                           absl::Time deadline);

  // Runs `command` with `arguments` and returns its "return" value.
  // FailedPrecondition with QEMU's description when QEMU answers with an
  // error; Unavailable when QEMU closed the socket; DeadlineExceeded.
  absl::StatusOr<google::protobuf::Value> Execute(
      absl::string_view command, const google::protobuf::Struct& arguments,
      absl::Time deadline);
  absl::StatusOr<google::protobuf::Value> Execute(absl::string_view command,
                                                  absl::Time deadline) {
    return Execute(command, google::protobuf::Struct(), deadline);
  }

  // Hands QEMU a duplicate of `fd` under `name` (QMP getfd, the fd riding
  // along as SCM_RIGHTS), for a later "fd:<name>" migration URI.
  absl::Status SendFd(absl::string_view name, int fd, absl::Time deadline);

 private:
  explicit QmpClient(UniqueFd socket) : socket_(std::move(socket)) {}

  // Sends `command` as one line, with `fd` attached when it is >= 0, and
  // returns its reply (see Execute).
  absl::StatusOr<google::protobuf::Value> Call(
      absl::string_view command, const google::protobuf::Struct& arguments,
      int fd, absl::Time deadline);

  // The next JSON object QEMU sends.
  absl::StatusOr<google::protobuf::Struct> ReadMessage(absl::Time deadline);

  UniqueFd socket_;
  std::string received_;  // read but not yet parsed
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_QEMU_QMP_CLIENT_H_
