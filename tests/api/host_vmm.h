#ifndef CLOUDLET_TESTS_API_HOST_VMM_H_
#define CLOUDLET_TESTS_API_HOST_VMM_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vmm.grpc.pb.h"

namespace cloudlet::testing {

// A VmmService for the API's and the CLI's own tests, where what is under
// test is the HTTP/SSE/terminal half of the chain and a VM would only add
// seconds: it runs SHELL and PYTHON workloads as processes on the host
// (no VM, no isolation), streaming their output as the real VMM does.
// The real chain is covered by tests/e2e.
//
// Run: Accepted, StageChange(BOOTING), VmBooted, StageChange(RUNNING),
// OutputChunks as read, Result (DONE with exit code or signal, TIMEOUT,
// CANCELLED). Scripted failures: a workload env HOST_VMM_FAIL=<CODE NAME>
// (e.g. RESOURCE_EXHAUSTED) fails the call with that code before any
// event; more than `max_runs` at once fail RESOURCE_EXHAUSTED. Cancelling
// the call kills the workload's process group at once. Thread-safe.
class HostVmm final : public v1::VmmService::Service {
 public:
  struct Options {
    int max_runs = 8;
    // Called (on a gRPC thread) after a Shutdown RPC was answered.
    std::function<void()> on_shutdown;
  };

  explicit HostVmm(Options options) : options_(std::move(options)) {}

  grpc::Status Run(grpc::ServerContext* context, const v1::RunRequest* request,
                   grpc::ServerWriter<v1::RunEvent>* writer) override;
  grpc::Status Shutdown(grpc::ServerContext* context,
                        const v1::ShutdownRequest* request,
                        v1::ShutdownResponse* response) override;
  grpc::Status Health(grpc::ServerContext* context,
                      const v1::VmmHealthRequest* request,
                      v1::VmmHealthResponse* response) override;

  // What tests observe.
  int runs_started() const;
  int runs_running() const;
  int runs_cancelled() const;
  bool shutdown_requested() const;
  v1::RunRequest last_request() const;
  // True once `count` runs have ended cancelled; false at `deadline`.
  bool WaitForCancelled(int count, absl::Time deadline);

 private:
  Options options_;
  mutable absl::Mutex mu_;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int cancelled_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  v1::RunRequest last_request_ ABSL_GUARDED_BY(mu_);
};

// A HostVmm serving gRPC on 127.0.0.1:`port` (0: a free port).
class HostVmmServer {
 public:
  static absl::StatusOr<std::unique_ptr<HostVmmServer>> Start(
      int port, HostVmm::Options options);
  ~HostVmmServer();  // shuts the server down (cancelling runs)

  int port() const { return port_; }
  std::string address() const;
  HostVmm& vmm() { return *vmm_; }
  // Shuts down with `deadline` for calls in flight; idempotent.
  void Stop(absl::Duration deadline = absl::Seconds(2));

 private:
  std::unique_ptr<HostVmm> vmm_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_API_HOST_VMM_H_
