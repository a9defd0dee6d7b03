#ifndef CLOUDLET_AGENT_SERVICE_RUN_REGISTRY_H_
#define CLOUDLET_AGENT_SERVICE_RUN_REGISTRY_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/execution/run_control.h"

namespace cloudlet::agent {

// The runs in progress, by run id: how Signal and shutdown reach a run.
// Thread-safe.
class RunRegistry {
 public:
  explicit RunRegistry(size_t max_runs) : max_runs_(max_runs) {}

  // A run's entry; the run is unregistered when this is destroyed.
  // Move-only; must not outlive its registry.
  class Registration {
   public:
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&&) = delete;
    Registration(const Registration&) = delete;
    ~Registration();
    RunControl& control() const { return *control_; }

   private:
    friend class RunRegistry;
    Registration(RunRegistry* registry, std::shared_ptr<RunControl> control)
        : registry_(registry), control_(std::move(control)) {}
    RunRegistry* registry_;
    std::shared_ptr<RunControl> control_;
  };

  // Adds a run. AlreadyExists when `run_id` is running, ResourceExhausted
  // when max_runs are running, Unavailable after StopAll.
  absl::StatusOr<Registration> Register(const std::string& run_id);

  // Asks run `run_id` to stop with `signal` (0 means SIGKILL); it then ends
  // CANCELLED. NotFound for an id that is not running.
  absl::Status Signal(const std::string& run_id, int signal);

  // Refuses new runs from now on and asks every run to stop with SIGKILL;
  // they end with `reason` (SHUTTING_DOWN).
  void StopAll(v1::Reason reason, const std::string& message);

  size_t active_runs() const;
  // False once StopAll was called.
  bool accepting() const;

 private:
  void Unregister(const std::string& run_id);

  const size_t max_runs_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<RunControl>> runs_
      ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_SERVICE_RUN_REGISTRY_H_
