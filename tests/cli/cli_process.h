#ifndef CLOUDLET_TESTS_CLI_CLI_PROCESS_H_
#define CLOUDLET_TESTS_CLI_CLI_PROCESS_H_

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/process/subprocess.h"

namespace cloudlet::testing {

// What one `cloudlet` invocation did.
struct CliOutcome {
  ExitStatus exit;
  bool timed_out = false;
  std::string out;
  std::string err;
  // Stdout as it arrived, each piece with its arrival time.
  std::vector<std::pair<absl::Time, std::string>> out_pieces;
  absl::Time started;
  absl::Time ended;
};

struct CliInvocation {
  std::vector<std::string> args;  // after the program name
  // Added to the environment, which otherwise is this process's minus every
  // CLOUDLET_* variable.
  std::vector<std::string> env;
  absl::Duration timeout = absl::Seconds(60);
  // The CLI's working directory; empty: this process's.
  std::filesystem::path cwd;
  // Called with the stdout seen so far whenever more arrives; may act on the
  // running CLI (e.g. send it SIGINT).
  std::function<void(const std::string& out, ChildProcess& cli)> on_stdout;
};

// Runs the cloudlet binary with its stdout and stderr on pipes read as they
// come. Kills it at `timeout` (timed_out is then set).
CliOutcome RunCloudlet(const std::string& binary, const CliInvocation& call);

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_CLI_CLI_PROCESS_H_
