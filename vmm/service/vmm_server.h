#ifndef CLOUDLET_VMM_SERVICE_VMM_SERVER_H_
#define CLOUDLET_VMM_SERVICE_VMM_SERVER_H_

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vmm/artifacts/artifact_cache.h"
#include "vmm/artifacts/build_cache.h"
#include "vmm/run/runner.h"
#include "vmm/run/slot_limiter.h"
#include "vmm/vm/vm_provider.h"
#include "vmm/service/vmm_service.h"

namespace cloudlet::vmm {

struct VmmServerOptions {
  std::string listen = "127.0.0.1:50051";  // HOST:PORT; port 0 picks one
  // TLS (common/rpc/tls.h); null: plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // When set, HOST:PORT of a second, plaintext server with grpc.health.v1
  // alone, for probes that speak no TLS (Kubernetes' grpc probes): "" is
  // SERVING until the VMM shuts down (busy or not, so a liveness probe
  // never restarts a busy VMM); kVmmHealthServiceName mirrors the main
  // server's.
  std::string health_listen;
  int max_vms = 1;      // runs holding a VM at once
  int max_queue = 16;   // runs waiting for a VM beyond those
  // How long runs may go on after a shutdown request before they are
  // cancelled (a Shutdown RPC may ask for another grace).
  absl::Duration shutdown_grace = absl::Seconds(30);
  RunnerOptions runner;
  // Where VM state lives; stale state found there is removed at Start.
  std::filesystem::path runtime_dir;
  // Called (once, from the requesting thread) when a Shutdown RPC arrives,
  // e.g. to wake main(), which then calls Shutdown().
  std::function<void()> on_shutdown_requested;
};

// The VMM: artifact and build caches, VM provider, slot limiter, runner and the gRPC
// server around them. All methods are thread-safe.
// The name the VMM's health is reported under in grpc.health.v1 (also
// under "", the server as a whole).
inline constexpr char kVmmHealthServiceName[] = "cloudlet.v1.VmmService";

class VmmServer {
 public:
  // Creates the runtime dir, removes stale VM state in it, and starts
  // serving VmmService on options.listen. Unavailable when it cannot
  // listen there.
  // `builds` may be null (no build cache: every run builds).
  static absl::StatusOr<std::unique_ptr<VmmServer>> Start(
      VmmServerOptions options, std::unique_ptr<ArtifactCache> artifacts,
      std::unique_ptr<BuildCache> builds, std::unique_ptr<VmProvider> vms);
  // Shuts down with no grace if Shutdown() was not called.
  ~VmmServer();

  int port() const { return port_; }
  int health_port() const { return health_port_; }  // 0 without one
  v1::VmmHealthResponse Health() const;

  // Stops taking runs now (Run: UNAVAILABLE), sets the grace deadline
  // (`grace` from now; zero: options.shutdown_grace), calls
  // on_shutdown_requested, and returns the runs in flight. Does not wait.
  // Later calls only report.
  uint32_t RequestShutdown(absl::Duration grace);

  // The whole graceful stop: RequestShutdown if nobody did, lets runs go on
  // until the grace deadline, cancels the rest (Result reason
  // SHUTTING_DOWN, VMs killed), waits for them to end, and stops the gRPC
  // server. Blocks; idempotent.
  void Shutdown();

 private:
  VmmServer(VmmServerOptions options, std::unique_ptr<ArtifactCache> artifacts,
            std::unique_ptr<BuildCache> builds,
            std::unique_ptr<VmProvider> vms);

  // Sets the health service's status (a no-op before it serves).
  void ReportAdmission(bool accepting);

  const VmmServerOptions options_;
  const std::unique_ptr<ArtifactCache> artifacts_;
  const std::unique_ptr<BuildCache> builds_;
  const std::unique_ptr<VmProvider> vms_;
  SlotLimiter slots_;
  Runner runner_;
  VmmService service_;
  std::unique_ptr<grpc::Server> server_;
  // The server's grpc.health.v1 service, once it serves: SERVING while
  // the slots take runs (SlotLimiter's admission observer), NOT_SERVING
  // when they are all taken or the VMM shuts down, so that a balancing
  // client (the API over many VMMs) sends new runs elsewhere.
  std::atomic<grpc::HealthCheckServiceInterface*> health_{nullptr};
  int port_ = 0;
  // The probes' server (options_.health_listen) and its health service.
  grpc::CallbackGenericService probe_fallback_;
  std::unique_ptr<grpc::Server> probe_server_;
  std::atomic<grpc::HealthCheckServiceInterface*> probe_health_{nullptr};
  int health_port_ = 0;

  mutable absl::Mutex mu_;
  bool shutdown_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time grace_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Mutex shutdown_mu_;  // one Shutdown() at a time
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_SERVICE_VMM_SERVER_H_
