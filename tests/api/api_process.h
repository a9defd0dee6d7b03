#ifndef CLOUDLET_TESTS_API_API_PROCESS_H_
#define CLOUDLET_TESTS_API_API_PROCESS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"

namespace cloudlet::testing {

// A real cloudlet-api process on a free loopback port, for tests. Its log
// goes to the test's stderr. Destroying it kills it.
class ApiProcess {
 public:
  // Starts `binary` with --listen on a free port and --vmm_target=`vmm_address`
  // plus `extra_flags`, and waits (polling, 10 s at most) until it answers
  // HTTP. Retries with another port if the first one was taken meanwhile.
  // Unless `extra_flags` has a --state_dir, the API keeps its function
  // registry in a temp dir of its own, never the user's.
  static absl::StatusOr<std::unique_ptr<ApiProcess>> Start(
      const std::string& binary, const std::string& vmm_address,
      const std::vector<std::string>& extra_flags = {});

  int port() const { return port_; }
  std::string url() const;
  ChildProcess& process() { return process_; }

 private:
  ApiProcess(ChildProcess process, int port, std::optional<TempDir> state)
      : state_(std::move(state)), process_(std::move(process)), port_(port) {}

  // Declared first, so destroyed last: the process is gone before its
  // state dir is removed.
  std::optional<TempDir> state_;
  ChildProcess process_;
  int port_;
};

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_API_API_PROCESS_H_
