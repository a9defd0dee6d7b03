#include "vmm/service/vmm_server.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "vmm/vm/runtime_state.h"

namespace cloudlet::vmm {

absl::StatusOr<std::unique_ptr<VmmServer>> VmmServer::Start(
    VmmServerOptions options, std::unique_ptr<ArtifactCache> artifacts,
    std::unique_ptr<BuildCache> builds, std::unique_ptr<VmProvider> vms) {
  if (absl::Status status = CreateRuntimeDir(options.runtime_dir);
      !status.ok()) {
    return status;
  }
  int removed = RemoveStaleVmState(options.runtime_dir);
  if (removed > 0) {
    spdlog::info("event=stale_state_removed vms={} runtime_dir={}", removed,
                 options.runtime_dir.string());
  }

  std::unique_ptr<VmmServer> server(
      new VmmServer(std::move(options), std::move(artifacts),
                    std::move(builds), std::move(vms)));
  // gRPC's own grpc.health.v1 service (a process-wide switch of the
  // library, read when a server is built).
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(server->options_.listen,
                           server->options_.credentials != nullptr
                               ? server->options_.credentials
                               : grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(&server->service_);
  server->server_ = builder.BuildAndStart();
  if (server->server_ != nullptr) {
    grpc::HealthCheckServiceInterface* health =
        server->server_->GetHealthCheckService();
    server->health_.store(health);
    server->ReportAdmission(server->slots_.accepting());
  }
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", server->options_.listen,
                     " (address in use or invalid?); choose another with "
                     "--listen"));
  }
  if (!server->options_.health_listen.empty()) {
    grpc::ServerBuilder probes;
    probes.AddListeningPort(server->options_.health_listen,
                            grpc::InsecureServerCredentials(),
                            &server->health_port_);
    // Any other method is UNIMPLEMENTED; a server must serve something of
    // its own for gRPC to poll it (the health service is added at start).
    probes.RegisterCallbackGenericService(&server->probe_fallback_);
    server->probe_server_ = probes.BuildAndStart();
    if (server->probe_server_ == nullptr || server->health_port_ == 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", server->options_.health_listen,
          " (address in use or invalid?); choose another with "
          "--health_listen"));
    }
    grpc::HealthCheckServiceInterface* health =
        server->probe_server_->GetHealthCheckService();
    health->SetServingStatus(true);
    server->probe_health_.store(health);
    server->ReportAdmission(server->slots_.accepting());
  }
  spdlog::info(
      "event=serving listen={} port={} tls={} max_vms={} max_queue={} accel={} "
      "runtime_dir={}",
      server->options_.listen, server->port_,
      server->options_.credentials != nullptr, server->slots_.max_running(),
      server->slots_.max_queue(), AccelName(server->vms_->accel()),
      server->options_.runtime_dir.string());
  return server;
}

VmmServer::VmmServer(VmmServerOptions options,
                     std::unique_ptr<ArtifactCache> artifacts,
                     std::unique_ptr<BuildCache> builds,
                     std::unique_ptr<VmProvider> vms)
    : options_(std::move(options)),
      artifacts_(std::move(artifacts)),
      builds_(std::move(builds)),
      vms_(std::move(vms)),
      slots_(options_.max_vms, options_.max_queue),
      runner_(options_.runner, artifacts_.get(), builds_.get(), vms_.get(),
              &slots_),
      service_(&runner_,
               VmmServiceHooks{
                   .health = [this] { return Health(); },
                   .request_shutdown =
                       [this](absl::Duration grace) {
                         return RequestShutdown(grace);
                       },
               }) {
  slots_.SetAdmissionObserver(
      [this](bool accepting) { ReportAdmission(accepting); });
}

void VmmServer::ReportAdmission(bool accepting) {
  if (grpc::HealthCheckServiceInterface* probes = probe_health_.load();
      probes != nullptr) {
    probes->SetServingStatus(kVmmHealthServiceName, accepting);
  }
  grpc::HealthCheckServiceInterface* health = health_.load();
  if (health == nullptr) return;
  health->SetServingStatus(kVmmHealthServiceName, accepting);
  health->SetServingStatus(accepting);
  spdlog::info("event=health serving={} running={} queued={}", accepting,
               slots_.running(), slots_.queued());
}

VmmServer::~VmmServer() {
  {
    absl::MutexLock lock(&mu_);
    if (!shutdown_requested_) {
      shutdown_requested_ = true;
      grace_deadline_ = absl::Now();
    }
  }
  Shutdown();
}

v1::VmmHealthResponse VmmServer::Health() const {
  v1::VmmHealthResponse response;
  bool shutting_down;
  {
    absl::MutexLock lock(&mu_);
    shutting_down = shutdown_requested_;
  }
  response.set_ready(!shutting_down);
  response.set_shutting_down(shutting_down);
  response.set_running_runs(static_cast<uint32_t>(slots_.running()));
  response.set_queued_runs(static_cast<uint32_t>(slots_.queued()));
  response.set_vms_running(static_cast<uint32_t>(runner_.vms_running()));
  response.set_max_vms(static_cast<uint32_t>(slots_.max_running()));
  response.set_max_queue(static_cast<uint32_t>(slots_.max_queue()));
  response.set_accel(AccelName(vms_->accel()));
  for (v1::ArtifactState& state : artifacts_->List()) {
    *response.add_artifacts() = std::move(state);
  }
  if (builds_ != nullptr) {
    BuildCache::Counts counts = builds_->counts();
    v1::BuildCacheState& state = *response.mutable_build_cache();
    state.set_hits(counts.hits);
    state.set_misses(counts.misses);
    state.set_stored(counts.stored);
  }
  response.set_runs_accepted(runner_.runs_accepted());
  response.set_version(CLOUDLET_VERSION);
  return response;
}

uint32_t VmmServer::RequestShutdown(absl::Duration grace) {
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    if (!shutdown_requested_) {
      first = true;
      shutdown_requested_ = true;
      grace_deadline_ =
          absl::Now() + (grace > absl::ZeroDuration() ? grace
                                                      : options_.shutdown_grace);
    }
  }
  auto in_flight = static_cast<uint32_t>(runner_.in_flight());
  if (first) {
    runner_.StopAdmitting();
    spdlog::info("event=shutdown_requested runs_in_flight={}", in_flight);
    if (options_.on_shutdown_requested) options_.on_shutdown_requested();
  }
  return in_flight;
}

void VmmServer::Shutdown() {
  absl::MutexLock one_at_a_time(&shutdown_mu_);
  absl::Time deadline;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    if (!shutdown_requested_) {
      shutdown_requested_ = true;
      grace_deadline_ = absl::Now() + options_.shutdown_grace;
    }
    deadline = grace_deadline_;
  }
  runner_.StopAdmitting();
  // Probes see the VMM going: Kubernetes stops sending it new traffic.
  if (grpc::HealthCheckServiceInterface* probes = probe_health_.load();
      probes != nullptr) {
    probes->SetServingStatus(false);
  }
  spdlog::info("event=shutting_down runs_in_flight={} grace_ms={}",
               runner_.in_flight(),
               absl::ToInt64Milliseconds(
                   std::max(deadline - absl::Now(), absl::ZeroDuration())));
  if (!runner_.WaitUntilIdle(deadline)) {
    spdlog::info("event=shutdown_grace_over cancelling={}",
                 runner_.in_flight());
    runner_.CancelAll(v1::SHUTTING_DOWN,
                      "the VMM shut down before the run finished; the VM "
                      "was killed");
    if (!runner_.WaitUntilIdle(absl::Now() + absl::Seconds(10))) {
      spdlog::warn("event=shutdown runs_still_in_flight={}",
                   runner_.in_flight());
    }
  }
  // Runs are over; calls that arrive now get UNAVAILABLE or are cut off.
  if (server_ != nullptr) {
    // The health service goes with the server: nothing reports to it now
    // (StopAdmitting above already said NOT_SERVING).
    health_.store(nullptr);
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    server_->Wait();
  }
  if (probe_server_ != nullptr) {
    probe_health_.store(nullptr);
    probe_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    probe_server_->Wait();
  }
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  spdlog::info("event=stopped");
}

}  // namespace cloudlet::vmm
