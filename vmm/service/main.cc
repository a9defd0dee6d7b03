// cloudlet-vmm: runs each workload in its own microVM and streams it back.
// Flags -> VmmServer -> wait for SIGTERM or a Shutdown RPC -> graceful stop.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/sync/mutex_checks.h"
#include "common/rpc/net.h"
#include "common/rpc/port_file.h"
#include "common/rpc/tls.h"
#include "common/process/termination_signal.h"
#include "spdlog/spdlog.h"
#include "vmm/artifacts/artifact_cache.h"
#include "vmm/artifacts/artifact_inputs.h"
#include "vmm/artifacts/build_cache.h"
#include "vmm/qemu/accel.h"
#include "vmm/service/artifacts_command.h"
#include "vmm/service/cache_prune.h"
#include "vmm/service/vmm_server.h"
#include "vmm/vm/host_agent_provider.h"
#include "vmm/vm/qemu_vm_provider.h"
#include "vmm/vm/runtime_state.h"
#include "common/run_limits.h"

#ifndef CLOUDLET_DEFAULT_SOURCE_DIR
#define CLOUDLET_DEFAULT_SOURCE_DIR ""
#endif
#ifndef CLOUDLET_DEFAULT_INIT_BINARY
#define CLOUDLET_DEFAULT_INIT_BINARY ""
#endif
#ifndef CLOUDLET_DEFAULT_AGENT_BINARY
#define CLOUDLET_DEFAULT_AGENT_BINARY ""
#endif

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "HOST:PORT to serve VmmService on (port 0 picks a free one)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain to serve gRPC over TLS with (with "
          "--tls_key_file); default plaintext");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "with TLS: only clients presenting a certificate signed by this CA "
          "may call (mutual TLS)");
ABSL_FLAG(bool, allow_plaintext, false,
          "serve plaintext gRPC on an address other hosts reach (anyone who "
          "reaches the port can run code: keep it behind a network policy)");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT of a plaintext grpc.health.v1-only server for probes "
          "that speak no TLS (Kubernetes' grpc probes); default none");
ABSL_FLAG(std::string, port_file, "",
          "if set, the bound port is written to this file once serving");
ABSL_FLAG(std::string, log_level, "info",
          "trace, debug, info, warn, error or off");
ABSL_FLAG(std::string, accel, "auto",
          "auto (KVM when /dev/kvm is usable, else TCG), kvm or tcg");
ABSL_FLAG(std::string, cache_dir, "",
          "guest artifact cache (default ${CLOUDLET_CACHE_DIR:-"
          "${XDG_CACHE_HOME:-$HOME/.cache}/cloudlet})");
ABSL_FLAG(std::string, source_dir, CLOUDLET_DEFAULT_SOURCE_DIR,
          "checkout holding kernel/ and initramfs/ (the artifact build "
          "scripts)");
ABSL_FLAG(std::string, init_binary, CLOUDLET_DEFAULT_INIT_BINARY,
          "the statically linked cloudlet-init, the guest's /init");
ABSL_FLAG(std::string, agent_binary, CLOUDLET_DEFAULT_AGENT_BINARY,
          "the statically linked cloudlet-agent put into the initramfs");
ABSL_FLAG(std::string, runtime_dir, "",
          "where VM state lives (default ${XDG_RUNTIME_DIR:-/tmp}/"
          "cloudlet-vmm-$UID); stale state there is removed at start");
ABSL_FLAG(int32_t, max_vms, 0,
          "runs holding a VM at once (0: the number of cores)");
// Defaults: VmmServerOptions, RunnerOptions and RunLimits, so that each is
// written once.
ABSL_FLAG(int32_t, max_queue, cloudlet::vmm::VmmServerOptions().max_queue,
          "runs that may wait for a VM; beyond, RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, shutdown_grace,
          cloudlet::vmm::VmmServerOptions().shutdown_grace,
          "on SIGTERM or Shutdown, how long running runs may finish before "
          "they are cancelled");
ABSL_FLAG(absl::Duration, default_timeout,
          cloudlet::vmm::RunLimits().default_timeout,
          "build+run limit of a run that sets none");
ABSL_FLAG(absl::Duration, max_timeout, cloudlet::vmm::RunLimits().max_timeout,
          "the longest timeout a run may ask for");
ABSL_FLAG(absl::Duration, boot_timeout,
          cloudlet::vmm::RunnerOptions().boot_timeout,
          "QEMU start until the guest's agent answers");
ABSL_FLAG(uint32_t, default_memory_mib,
          cloudlet::vmm::RunLimits().default_memory_mib,
          "guest memory of a run");
ABSL_FLAG(uint32_t, max_memory_mib, cloudlet::vmm::RunLimits().max_memory_mib,
          "the most memory a run may ask for");
ABSL_FLAG(uint32_t, default_vcpus, cloudlet::vmm::RunLimits().default_vcpus,
          "vCPUs of a run");
ABSL_FLAG(uint32_t, max_vcpus, 0,
          "the most vCPUs a run may ask for (0: the number of cores)");
ABSL_FLAG(uint64_t, max_code_bytes, cloudlet::kMaxCodeBytes,
          "largest accepted source code");
ABSL_FLAG(std::string, guest_log_level, "info", "the guest agent's log level");
// 128: QEMU's default cache lets a 256 MiB guest compiling Rust grow to
// ~730 MiB of host RSS; 128 caps that at ~455 MiB for ~0-7% of the build's
// speed, and an idle VM touches less than that anyway (bench/rss).
ABSL_FLAG(uint32_t, tcg_tb_size_mib, 128,
          "QEMU TCG translation cache size per VM in MiB (0: QEMU's default, "
          "which lets a heavy workload's VM grow hundreds of MiB larger; "
          "32 saves ~25 MiB per idle VM but slows builds ~25%)");
// Resuming a saved VM skips the boot (TCG: agent answering ~0.3 s after
// QEMU starts, against ~1 s) and shares the saved guest memory between VMs
// through the page cache (bench/chain, bench/rss).
ABSL_FLAG(bool, vm_snapshots, true,
          "resume each run's VM from a snapshot of a booted VM of its shape, "
          "kept in the artifact cache and made on first use; false: boot "
          "every VM");
ABSL_FLAG(std::string, vm_provider, "qemu",
          "qemu: every run in its own microVM; host_agent: every run in a "
          "cloudlet-agent process on this host (--agent_binary), isolating "
          "nothing: the test seam, for tests and benches only");
ABSL_FLAG(uint64_t, cache_max_bytes, 0,
          "with `artifacts prune` and at start: after the stale entries, "
          "remove the least recently used ones until the cache holds at most "
          "this many bytes (0: no cap)");
ABSL_FLAG(bool, build_cache, true,
          "keep each successful build in the cache, so that a run of the "
          "same code, language, release flag, env and runtime skips its "
          "build; false: every run builds");
ABSL_FLAG(std::string, build_cache_dir, "",
          "where cached builds live (default: the artifact cache)");
ABSL_FLAG(bool, dry_run, false,
          "with `artifacts prune`: say what would be removed, remove nothing");

namespace {

namespace vmm = cloudlet::vmm;

vmm::ArtifactCacheOptions CacheOptionsFromFlags() {
  vmm::ArtifactCacheOptions options;
  options.cache_dir = absl::GetFlag(FLAGS_cache_dir);
  options.source_dir = absl::GetFlag(FLAGS_source_dir);
  options.init_binary = absl::GetFlag(FLAGS_init_binary);
  options.agent_binary = absl::GetFlag(FLAGS_agent_binary);
  return options;
}

int Cores() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

absl::StatusOr<vmm::Accel> ChooseAccel(const std::string& flag) {
  if (flag == "auto") return vmm::DetectAccel();
  if (flag == "tcg") return vmm::Accel::kTcg;
  if (flag == "kvm") {
    if (vmm::DetectAccel() != vmm::Accel::kKvm) {
      return absl::FailedPreconditionError(
          "--accel=kvm: /dev/kvm cannot be opened read-write by this user; "
          "use --accel=tcg or --accel=auto");
    }
    return vmm::Accel::kKvm;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--accel: unknown value \"", flag, "\"; expected auto, kvm or tcg"));
}

// What runs get their VMs from, as --vm_provider says.
struct VmBackend {
  std::unique_ptr<vmm::ArtifactCache> artifacts;
  std::unique_ptr<vmm::BuildCache> builds;
  std::unique_ptr<vmm::VmProvider> vms;
};

std::filesystem::path CacheDirFromFlags() {
  std::filesystem::path dir = absl::GetFlag(FLAGS_cache_dir);
  return dir.empty() ? vmm::CacheStore::DefaultDir() : dir;
}

// The build cache, unless --build_cache=false: in `store` (the artifacts'),
// or in a store of its own when there is none or --build_cache_dir names
// another folder.
absl::StatusOr<std::unique_ptr<vmm::BuildCache>> MakeBuildCache(
    std::shared_ptr<vmm::CacheStore> store) {
  if (!absl::GetFlag(FLAGS_build_cache)) return nullptr;
  std::filesystem::path dir = absl::GetFlag(FLAGS_build_cache_dir);
  if (store == nullptr || !dir.empty()) {
    absl::StatusOr<std::unique_ptr<vmm::CacheStore>> opened =
        vmm::CacheStore::Open(dir.empty() ? CacheDirFromFlags() : dir);
    if (!opened.ok()) return opened.status();
    store = *std::move(opened);
  }
  return std::make_unique<vmm::BuildCache>(std::move(store));
}

absl::StatusOr<VmBackend> MakeVmBackend(vmm::Accel accel,
                                        const std::filesystem::path& runtime_dir) {
  const std::string provider = absl::GetFlag(FLAGS_vm_provider);
  VmBackend backend;
  if (provider == "host_agent") {
    spdlog::warn("event=host_agent_provider note=\"runs are not isolated\"");
    // Builds cached by one agent binary are not run by another.
    absl::StatusOr<std::string> agent_digest =
        vmm::InputHasher().FileDigest(absl::GetFlag(FLAGS_agent_binary));
    if (!agent_digest.ok()) return agent_digest.status();
    backend.artifacts = std::make_unique<vmm::NoGuestArtifacts>(
        absl::StrCat("host-agent-", agent_digest->substr(0, 16)));
    absl::StatusOr<std::unique_ptr<vmm::BuildCache>> builds =
        MakeBuildCache(nullptr);
    if (!builds.ok()) return builds.status();
    backend.builds = *std::move(builds);
    vmm::HostAgentProviderOptions options;
    options.agent_binary = absl::GetFlag(FLAGS_agent_binary);
    options.runtime_dir = runtime_dir;
    options.log_level = absl::GetFlag(FLAGS_guest_log_level);
    backend.vms = std::make_unique<vmm::HostAgentProvider>(std::move(options));
    return backend;
  }
  if (provider != "qemu") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--vm_provider: unknown value \"", provider,
        "\"; expected qemu or host_agent"));
  }
  absl::StatusOr<std::unique_ptr<vmm::ArtifactCache>> cache =
      vmm::ArtifactCache::Open(CacheOptionsFromFlags());
  if (!cache.ok()) return cache.status();
  if (uint64_t cap = absl::GetFlag(FLAGS_cache_max_bytes); cap > 0) {
    absl::StatusOr<vmm::CachePruneReport> pruned =
        vmm::PruneCache(**cache, /*dry_run=*/false, cap);
    if (!pruned.ok()) return pruned.status();
  }
  vmm::QemuVmProviderOptions options;
  options.accel = accel;
  options.runtime_dir = runtime_dir;
  options.guest_log_level = absl::GetFlag(FLAGS_guest_log_level);
  options.tcg_tb_size_mib = absl::GetFlag(FLAGS_tcg_tb_size_mib);
  if (absl::GetFlag(FLAGS_vm_snapshots)) {
    options.snapshots = std::make_shared<vmm::VmSnapshots>((*cache)->store());
  }
  absl::StatusOr<std::unique_ptr<vmm::BuildCache>> builds =
      MakeBuildCache((*cache)->store());
  if (!builds.ok()) return builds.status();
  backend.builds = *std::move(builds);
  backend.artifacts = *std::move(cache);
  backend.vms = std::make_unique<vmm::QemuVmProvider>(std::move(options));
  return backend;
}

int Fail(const absl::Status& status) {
  spdlog::error("event=startup_failed error=\"{}\"",
                std::string(status.message()));
  std::fprintf(stderr, "cloudlet-vmm: %s\n",
               std::string(status.message()).c_str());
  return 2;
}

int Serve() {
  absl::StatusOr<vmm::Accel> accel = ChooseAccel(absl::GetFlag(FLAGS_accel));
  if (!accel.ok()) return Fail(accel.status());

  const std::string listen = absl::GetFlag(FLAGS_listen);
  cloudlet::TlsServerFiles tls;
  tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      cloudlet::MakeServerCredentials(tls);
  if (!credentials.ok()) return Fail(credentials.status());
  std::string listen_host;
  int listen_port = 0;
  if (!cloudlet::SplitHostPort(listen, &listen_host, &listen_port)) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--listen: expected HOST:PORT, got \"", listen, "\"")));
  }
  const bool loopback = cloudlet::IsLoopbackHost(listen_host);
  if (!tls.enabled() && !absl::GetFlag(FLAGS_allow_plaintext) && !loopback) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--listen=", listen,
        " is reachable from other hosts: serve TLS (--tls_cert_file, "
        "--tls_key_file, --tls_client_ca_file) or say --allow_plaintext")));
  }
  if (tls.enabled() && tls.client_ca_file.empty() && !loopback) {
    spdlog::warn(
        "event=tls_without_client_auth listen={} note=\"any client that "
        "reaches the port can run code; give --tls_client_ca_file\"",
        listen);
  }

  std::filesystem::path runtime_dir = absl::GetFlag(FLAGS_runtime_dir);
  if (runtime_dir.empty()) runtime_dir = vmm::DefaultRuntimeDir();

  absl::StatusOr<VmBackend> backend = MakeVmBackend(*accel, runtime_dir);
  if (!backend.ok()) return Fail(backend.status());
  vmm::VmmServerOptions options;
  options.listen = listen;
  options.health_listen = absl::GetFlag(FLAGS_health_listen);
  if (tls.enabled()) options.credentials = *std::move(credentials);
  options.max_vms = absl::GetFlag(FLAGS_max_vms) > 0
                        ? absl::GetFlag(FLAGS_max_vms)
                        : Cores();
  options.max_queue = absl::GetFlag(FLAGS_max_queue);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.runtime_dir = runtime_dir;
  options.on_shutdown_requested = [] { cloudlet::RaiseTermination(); };
  vmm::RunLimits& limits = options.runner.limits;
  limits.default_timeout = absl::GetFlag(FLAGS_default_timeout);
  limits.max_timeout = absl::GetFlag(FLAGS_max_timeout);
  limits.default_memory_mib = absl::GetFlag(FLAGS_default_memory_mib);
  limits.max_memory_mib = absl::GetFlag(FLAGS_max_memory_mib);
  limits.default_vcpus = absl::GetFlag(FLAGS_default_vcpus);
  limits.max_vcpus = absl::GetFlag(FLAGS_max_vcpus) > 0
                         ? absl::GetFlag(FLAGS_max_vcpus)
                         : static_cast<uint32_t>(Cores());
  limits.max_code_bytes = absl::GetFlag(FLAGS_max_code_bytes);
  options.runner.boot_timeout = absl::GetFlag(FLAGS_boot_timeout);

  absl::StatusOr<std::unique_ptr<vmm::VmmServer>> server =
      vmm::VmmServer::Start(
          std::move(options), std::move(backend->artifacts),
          std::move(backend->builds), std::move(backend->vms));
  if (!server.ok()) return Fail(server.status());
  if (std::string port_file = absl::GetFlag(FLAGS_port_file);
      !port_file.empty()) {
    if (absl::Status status =
            cloudlet::WritePortFile(port_file, (*server)->port());
        !status.ok()) {
      return Fail(status);
    }
  }

  int signal_number = cloudlet::WaitForTerminationSignal();
  spdlog::info("event=termination signal={}", signal_number);
  (*server)->Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cloudlet::DisableDebugOnlyMutexChecks();  // before any mutex is used
  // Before any thread exists, so that every thread inherits the mask and
  // only WaitForTerminationSignal sees SIGTERM.
  cloudlet::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "cloudlet-vmm [--flags]          serve VmmService\n"
      "cloudlet-vmm artifacts build|list|prune  prepare, show or prune guest\n"
      "                                          artifacts");
  std::vector<std::string> args = cloudlet::NormalizeFlagNames(argc, argv);
  std::vector<char*> pointers = cloudlet::ArgvPointers(args);
  std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(args.size()), pointers.data());
  if (absl::Status status = cloudlet::InitLogging(
          "cloudlet-vmm", absl::GetFlag(FLAGS_log_level));
      !status.ok()) {
    std::fprintf(stderr, "cloudlet-vmm: %s\n",
                 std::string(status.message()).c_str());
    return 2;
  }
  if (positional.size() > 1 && std::string(positional[1]) == "artifacts") {
    return vmm::RunArtifactsCommand(
        std::vector<std::string>(positional.begin() + 2, positional.end()),
        CacheOptionsFromFlags(), absl::GetFlag(FLAGS_dry_run),
        absl::GetFlag(FLAGS_cache_max_bytes));
  }
  if (positional.size() > 1) {
    std::fprintf(stderr,
                 "cloudlet-vmm: unexpected argument \"%s\"; see --help\n",
                 positional[1]);
    return 2;
  }
  return Serve();
}
