#ifndef CLOUDLET_TESTS_E2E_CHAIN_H_
#define CLOUDLET_TESTS_E2E_CHAIN_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "tests/api/api_process.h"

namespace cloudlet::testing {

// The real server side of Cloudlet for end-to-end tests: a cloudlet-vmm on
// a free loopback port (its own runtime dir, the real artifact cache) and
// a cloudlet-api in front of it. Logs go to the test's stderr. Destroying
// it stops the VMM with SIGTERM (which kills its VMs) and kills the API.
class Chain {
 public:
  struct Options {
    std::vector<std::string> vmm_flags;  // e.g. --max_vms=1
    std::vector<std::string> api_flags;
  };

  static absl::StatusOr<std::unique_ptr<Chain>> Start(const Options& options);
  ~Chain();

  std::string api_url() const { return api_->url(); }
  std::string vmm_address() const;
  pid_t vmm_pid() const { return vmm_.pid(); }
  int vmm_port() const { return vmm_port_; }
  // The processes themselves, for tests about one of them going away (a
  // VMM killed mid-run, an API exiting after POST /shutdown). Owned by the
  // chain; a test may signal and reap them, the destructor copes.
  ChildProcess& vmm_process() { return vmm_; }
  ApiProcess& api() { return *api_; }
  // Where the API keeps its function registry.
  std::filesystem::path state_dir() const;
  // Starts the API again, with the same flags and state (after a test
  // killed it); the old process, if any, is killed first.
  absl::Status RestartApi();

 private:
  Chain(TempDir dir, ChildProcess vmm, int vmm_port)
      : dir_(std::move(dir)), vmm_(std::move(vmm)), vmm_port_(vmm_port) {}

  TempDir dir_;
  ChildProcess vmm_;
  int vmm_port_;
  std::unique_ptr<ApiProcess> api_;
  std::vector<std::string> api_flags_;
};

// The environment a `cloudlet` under test gets to reach `chain`, without
// ever starting daemons of its own.
std::vector<std::string> CliEnvFor(const Chain& chain);

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_E2E_CHAIN_H_
