#ifndef CLOUDLET_CLI_OUTPUT_EXIT_CODES_H_
#define CLOUDLET_CLI_OUTPUT_EXIT_CODES_H_

#include <string>

#include "absl/status/status.h"
#include "vmm.pb.h"

namespace cloudlet::cli {

// The CLI's exit codes (README "Exit codes"). Otherwise the workload's own
// exit code, or 128+N when a signal N killed it.
inline constexpr int kExitPlatformFailure = 1;  // with a one-line reason
inline constexpr int kExitUsage = 2;            // bad arguments or config
inline constexpr int kExitTimeout = 124;        // as timeout(1)
inline constexpr int kExitInterrupted = 130;    // Ctrl-C (128 + SIGINT)

// The exit code a finished run stands for: the workload's code when it ran
// to its end, 128+N when signal N killed it, the compiler's code (or 1) for
// a build failure, 124 for a timeout, 130 for a cancelled run, 1 for every
// failure of Cloudlet's own (VM, artifacts, output cap, shutdown).
int ExitCodeForResult(const v1::Result& result);

// The exit code for an error that ended `cloudlet` before any result:
// InvalidArgument (usage, config, a request the API refused as invalid)
// -> 2, Cancelled -> 130, anything else -> 1.
int ExitCodeForError(const absl::Status& status);

// One line about how a run ended, for the terminal: "build failed (exit
// code 1)", "timed out: <message>", "killed by signal 9 (Killed)". Empty
// when the workload exited by itself (its exit code says the rest).
std::string DescribeResult(const v1::Result& result);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_OUTPUT_EXIT_CODES_H_
