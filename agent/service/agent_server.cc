#include "agent/service/agent_server.h"

#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sync/poll.h"
#include "spdlog/spdlog.h"

namespace cloudlet::agent {
namespace {

// After the last run has ended: how long its final status gets to reach
// its caller before the server cancels what is left.
constexpr absl::Duration kFinalFlush = absl::Milliseconds(200);

}  // namespace

absl::StatusOr<std::string> GrpcListenAddress(absl::string_view listen) {
  if (absl::StartsWith(listen, "vsock:")) {
    return absl::UnimplementedError(absl::StrCat(
        "--listen=", listen,
        ": the vsock transport is not supported yet; use HOST:PORT"));
  }
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen=", listen,
                     ": expected HOST:PORT, e.g. 0.0.0.0:5000 or [::1]:5000"));
  };
  size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return invalid();
  absl::string_view host = listen.substr(0, colon);
  absl::string_view port_text = listen.substr(colon + 1);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port > 65535 ||
      port_text.empty() ||
      port_text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return invalid();
  }
  bool bracketed = absl::StartsWith(host, "[") && absl::EndsWith(host, "]");
  if (!bracketed && host.find(':') != absl::string_view::npos) return invalid();
  return absl::StrCat(host, ":", port);
}

AgentServer::AgentServer(AgentServerOptions options)
    : options_(std::move(options)),
      executor_(options_.executor),
      registry_(options_.max_runs),
      service_(executor_, registry_, options_.accept_host_state) {}

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(
    AgentServerOptions options) {
  absl::StatusOr<std::string> address = GrpcListenAddress(options.listen);
  if (!address.ok()) return address.status();
  std::unique_ptr<AgentServer> server(new AgentServer(std::move(options)));

  const RequestLimits& limits = server->options_.executor.request_limits;
  size_t max_message = limits.max_code_bytes + limits.max_stdin_bytes +
                       limits.max_prebuilt_bytes +
                       (1 << 20);  // room for args, env and framing
  grpc::ServerBuilder builder;
  builder.AddListeningPort(*address, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(&server->service_);
  // gRPC sets SO_REUSEPORT by default: a second agent on the same port
  // would then start "fine" and steal half the calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(max_message, std::numeric_limits<int>::max())));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", *address,
                     ": the address is in use or not local to this machine"));
  }
  spdlog::info("event=listening address={} port={} max_runs={}", *address,
               server->port_, server->options_.max_runs);
  return server;
}

AgentServer::~AgentServer() { Shutdown(absl::ZeroDuration()); }

void AgentServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  size_t active = registry_.active_runs();
  spdlog::info("event=shutdown active_runs={} grace_ms={}", active,
               absl::ToInt64Milliseconds(grace));
  registry_.StopAll(v1::SHUTTING_DOWN,
                    "the agent is shutting down; the workload was stopped");
  // Waiting for the runs ourselves, rather than handing `grace` to gRPC:
  // gRPC's shutdown also waits for idle client connections to close, which
  // they only do when their owner next polls them, so it would always take
  // the whole grace. The runs have sent their results once they leave the
  // registry; kFinalFlush lets their final statuses go out.
  (void)PollUntil("runs to end", absl::Now() + grace,
                  [&] { return registry_.active_runs() == 0; });
  server_->Shutdown(absl::ToChronoTime(absl::Now() + kFinalFlush));
  server_->Wait();
  spdlog::info("event=stopped");
}

}  // namespace cloudlet::agent
