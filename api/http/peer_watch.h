#ifndef CLOUDLET_API_HTTP_PEER_WATCH_H_
#define CLOUDLET_API_HTTP_PEER_WATCH_H_

#include <string>

#include "absl/status/statusor.h"

namespace cloudlet::api {

// Tells whether the client of an accepted HTTP connection has gone away,
// without reading from or writing to the connection.
//
// Why: a streaming response may sit idle for seconds (a build, a quiet
// workload) and cpp-httplib 0.11 only notices a closed peer when a write
// fails, which needs output to write. The client closing is what must
// cancel the run (and so kill its VM) within a second. cpp-httplib does not
// hand its socket to handlers, so the watch finds it by its endpoints among
// this process's sockets (the connection is unique by its four-tuple and
// stays open while its handler runs).
//
// Use only from the handler's thread while the request is being served; the
// descriptor is not owned.
class PeerWatch {
 public:
  // The socket of this process whose local end is local_addr:local_port and
  // whose peer is remote_addr:remote_port (numeric addresses, as
  // httplib::Request reports them). NotFound when there is none.
  static absl::StatusOr<PeerWatch> Find(const std::string& local_addr,
                                        int local_port,
                                        const std::string& remote_addr,
                                        int remote_port);

  // True once the peer closed its end or the connection broke (hang-up,
  // reset, or error on the socket). Never blocks.
  bool PeerGone() const;

  int fd() const { return fd_; }

 private:
  explicit PeerWatch(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_HTTP_PEER_WATCH_H_
