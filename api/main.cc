// cloudlet-api: the HTTP front of Cloudlet. Flags → ApiServer → wait for
// SIGTERM/SIGINT or POST /shutdown → drain and exit 0.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "api/http/bearer_auth.h"
#include "api/http/server.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/rpc/net.h"
#include "common/rpc/tls.h"
#include "common/sync/mutex_checks.h"
#include "common/process/termination_signal.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:3000",
          "HOST:PORT to serve HTTP on (PORT 0 picks a free port)");
ABSL_FLAG(std::string, vmm_target, "127.0.0.1:50051",
          "the gRPC target of the VMM(s): HOST:PORT, ipv4:HOST:PORT,HOST:PORT "
          "or dns:///NAME:PORT; runs go round robin over the healthy ones");
ABSL_FLAG(std::string, vmm_tls_ca_file, "",
          "reach the VMMs over TLS, checking their certificates against this "
          "PEM CA; default plaintext");
ABSL_FLAG(std::string, vmm_tls_cert_file, "",
          "with TLS: the PEM certificate the API presents to the VMMs "
          "(mutual TLS; with --vmm_tls_key_file)");
ABSL_FLAG(std::string, vmm_tls_key_file, "",
          "the PEM private key of --vmm_tls_cert_file");
ABSL_FLAG(std::string, vmm_tls_server_name, "",
          "with TLS: the name the VMMs' certificates carry, when it is not "
          "the host of --vmm_target (e.g. for an ipv4: list)");
ABSL_FLAG(std::string, database_url, "",
          "a PostgreSQL URL (postgresql://user@host/db) for the function "
          "registry, shared by API replicas; default: SQLite in --state_dir");
ABSL_FLAG(std::string, auth_token_file, "",
          "a file holding the bearer token every route but /healthz then "
          "needs; required to --listen on anything but loopback");
// Defaults: ApiServerOptions (api/server.h), so that each is written once.
ABSL_FLAG(uint64_t, max_body_bytes,
          cloudlet::api::ApiServerOptions().max_body_bytes,
          "POST /run bodies over this size are refused with 413");
ABSL_FLAG(absl::Duration, vmm_connect_timeout,
          cloudlet::api::ApiServerOptions().vmm.connect_timeout,
          "how long a request waits for an unreachable VMM before 503");
ABSL_FLAG(absl::Duration, drain_timeout,
          cloudlet::api::ApiServerOptions().drain_timeout,
          "on shutdown, how long running streams may take to end");
ABSL_FLAG(std::string, log_level, "info",
          "trace, debug, info, warn, error or off");
ABSL_FLAG(std::string, state_dir, "",
          "where the function registry (functions.db, SQLite) lives "
          "(default ${XDG_STATE_HOME:-$HOME/.local/state}/cloudlet)");

namespace {

std::filesystem::path DefaultStateDir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "cloudlet";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr && *home != '\0' ? home
                                                               : "/tmp") /
         ".local" / "state" / "cloudlet";
}


}  // namespace

int main(int argc, char** argv) {
  cloudlet::DisableDebugOnlyMutexChecks();  // before any mutex is used
  cloudlet::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "cloudlet-api [--listen=127.0.0.1:3000] [--vmm_target=127.0.0.1:50051]\n"
      "Serves POST /run (Server-Sent Events), /functions (deploy, list,\n"
      "show, delete, invoke), POST /shutdown, GET /healthz, GET /metrics\n"
      "(Prometheus).");
  std::vector<std::string> args = cloudlet::NormalizeFlagNames(argc, argv);
  std::vector<char*> pointers = cloudlet::ArgvPointers(args);
  std::vector<char*> rest = absl::ParseCommandLine(
      static_cast<int>(args.size()), pointers.data());
  if (rest.size() > 1) {
    std::cerr << "cloudlet-api: unexpected argument: " << rest[1] << "\n";
    return 2;
  }
  if (absl::Status s =
          cloudlet::InitLogging("cloudlet-api", absl::GetFlag(FLAGS_log_level));
      !s.ok()) {
    std::cerr << "cloudlet-api: " << s.message() << "\n";
    return 2;
  }

  cloudlet::api::ApiServerOptions options;
  if (!cloudlet::SplitHostPort(absl::GetFlag(FLAGS_listen), &options.host,
                     &options.port)) {
    std::cerr << "cloudlet-api: --listen: expected HOST:PORT, got \""
              << absl::GetFlag(FLAGS_listen) << "\"\n";
    return 2;
  }
  options.vmm.target = absl::GetFlag(FLAGS_vmm_target);
  options.vmm.connect_timeout = absl::GetFlag(FLAGS_vmm_connect_timeout);
  cloudlet::TlsClientFiles tls;
  tls.ca_file = absl::GetFlag(FLAGS_vmm_tls_ca_file);
  tls.cert_file = absl::GetFlag(FLAGS_vmm_tls_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_vmm_tls_key_file);
  tls.server_name = absl::GetFlag(FLAGS_vmm_tls_server_name);
  if (tls.enabled()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        cloudlet::MakeChannelCredentials(tls);
    if (!credentials.ok()) {
      std::cerr << "cloudlet-api: " << credentials.status().message() << "\n";
      return 2;
    }
    options.vmm.security.credentials = *std::move(credentials);
    options.vmm.security.server_name = tls.server_name;
  } else if (!tls.server_name.empty()) {
    std::cerr << "cloudlet-api: --vmm_tls_server_name needs "
                 "--vmm_tls_ca_file\n";
    return 2;
  }
  if (const std::string file = absl::GetFlag(FLAGS_auth_token_file);
      !file.empty()) {
    absl::StatusOr<std::string> token = cloudlet::api::ReadAuthToken(file);
    if (!token.ok()) {
      std::cerr << "cloudlet-api: " << token.status().message() << "\n";
      return 2;
    }
    options.auth_token = *std::move(token);
  } else if (!cloudlet::IsLoopbackHost(options.host)) {
    std::cerr << "cloudlet-api: --listen=" << absl::GetFlag(FLAGS_listen)
              << " is reachable from other hosts: give --auth_token_file so "
                 "that only holders of the token can run code here\n";
    return 2;
  }
  options.max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  std::filesystem::path state_dir = absl::GetFlag(FLAGS_state_dir);
  if (state_dir.empty()) state_dir = DefaultStateDir();
  options.registry_file = state_dir / "functions.db";
  options.database_url = absl::GetFlag(FLAGS_database_url);

  absl::StatusOr<std::unique_ptr<cloudlet::api::ApiServer>> server =
      cloudlet::api::ApiServer::Start(options, [] {
        cloudlet::RaiseTermination();
      });
  if (!server.ok()) {
    spdlog::error("event=startup_failed error=\"{}\"",
                  std::string(server.status().message()));
    return 1;
  }
  int signal_number = cloudlet::WaitForTerminationSignal();
  spdlog::info("event=termination signal={}", signal_number);
  (*server)->Stop();
  return 0;
}
