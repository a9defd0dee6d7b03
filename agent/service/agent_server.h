#ifndef CLOUDLET_AGENT_SERVICE_AGENT_SERVER_H_
#define CLOUDLET_AGENT_SERVICE_AGENT_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/service/agent_service.h"
#include "agent/execution/executor.h"
#include "agent/service/run_registry.h"

namespace cloudlet::agent {

// The one place that knows transports: turns the --listen value into a
// gRPC server address. "HOST:PORT" or "[V6HOST]:PORT" is TCP (port 0 picks
// a free one); "vsock:PORT" is reserved for vsock and answered with
// Unimplemented for now. InvalidArgument for anything else.
absl::StatusOr<std::string> GrpcListenAddress(absl::string_view listen);

struct AgentServerOptions {
  std::string listen = "127.0.0.1:5000";
  ExecutorOptions executor;
  size_t max_runs = 32;  // concurrent Executes; more get RESOURCE_EXHAUSTED
  // Apply each request's host_time and host_entropy to this machine: set
  // for the guest's agent only (a VM resumed from a snapshot needs them);
  // an agent on a host must not step the host's clock.
  bool accept_host_state = false;
};

// The agent's gRPC server and everything it serves with. Start() from
// main; Shutdown() from the thread that handles SIGTERM.
class AgentServer {
 public:
  // Listens and serves. InvalidArgument for a bad listen address,
  // Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(
      AgentServerOptions options);

  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;
  // Shuts down with no grace if Shutdown was not called.
  ~AgentServer();

  // The bound TCP port (the picked one when the listen port was 0).
  int port() const { return port_; }

  // Refuses new runs, stops every run in progress (each ends FAILED with
  // reason SHUTTING_DOWN and its processes killed), waits up to `grace` for
  // them to send their results, then cancels what is left. Returns when
  // every call has ended, within about `grace` + 0.2 s. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  explicit AgentServer(AgentServerOptions options);

  const AgentServerOptions options_;
  Executor executor_;
  RunRegistry registry_;
  AgentService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_SERVICE_AGENT_SERVER_H_
