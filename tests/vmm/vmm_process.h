#ifndef CLOUDLET_TESTS_VMM_VMM_PROCESS_H_
#define CLOUDLET_TESTS_VMM_VMM_PROCESS_H_

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "common/rpc/tls.h"
#include "vmm.grpc.pb.h"

namespace cloudlet::testing {

// A real cloudlet-vmm process for a test: a free loopback port, its own
// runtime dir, the shared artifact cache (CLOUDLET_CACHE_DIR or the
// default), logs on this process's stderr. Killed (SIGKILL) and reaped on
// destruction if still running. Use from the test's main thread.
class VmmProcess {
 public:
  // Starts the VMM with `flags` added and waits (with a deadline) until
  // its Health says ready. `runtime_dir` empty: a fresh temp dir. `tls`:
  // how stub() reaches a VMM that serves TLS (plaintext when it names no
  // file).
  static absl::StatusOr<std::unique_ptr<VmmProcess>> Start(
      const std::vector<std::string>& flags = {},
      std::filesystem::path runtime_dir = {}, const TlsClientFiles& tls = {});
  ~VmmProcess();

  v1::VmmService::Stub& stub() { return *stub_; }
  pid_t pid() const { return process_.pid(); }
  int port() const { return port_; }
  const std::filesystem::path& runtime_dir() const { return runtime_dir_; }

  absl::Status Signal(int signal) { return process_.SignalGroup(signal); }
  // Sends SIGKILL to the VMM process only (not its group: what a crash or
  // an OOM kill does).
  void KillNine();
  absl::StatusOr<ExitStatus> WaitForExit(absl::Duration timeout) {
    return process_.WaitFor(timeout);
  }

 private:
  VmmProcess(ChildProcess process, std::optional<TempDir> owned_dir,
             std::filesystem::path runtime_dir, int port,
             std::shared_ptr<grpc::Channel> channel);

  ChildProcess process_;
  std::optional<TempDir> owned_dir_;
  std::filesystem::path runtime_dir_;
  int port_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::VmmService::Stub> stub_;
};

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_VMM_VMM_PROCESS_H_
