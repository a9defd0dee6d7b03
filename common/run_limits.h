#ifndef CLOUDLET_COMMON_RUN_LIMITS_H_
#define CLOUDLET_COMMON_RUN_LIMITS_H_

#include <cstddef>
#include <cstdint>

// The limits every hop of a run applies alike (the CLI before it sends,
// the VMM before it accepts, the agent before it runs), so that they cannot
// drift apart. Each binary's flags take their defaults from here; README's
// "Defaults and limits" lists them.
namespace cloudlet {

// Source one run may carry: the file, or a project's files together
// (contents and paths; common/workload_source.h counts them).
inline constexpr uint64_t kMaxCodeBytes = 8 << 20;
// How many files a project may have.
inline constexpr size_t kMaxSourceFiles = 4096;
// How many Debian packages a workload may add to its runtime image.
inline constexpr size_t kMaxPackages = 64;
// Standard input one run may carry.
inline constexpr uint64_t kMaxStdinBytes = 1 << 20;
// What a run may print (stdout and stderr of build and run together)
// before it is stopped with OUTPUT_LIMIT.
inline constexpr uint64_t kOutputLimitBytes = 16 << 20;
// The largest build output (a compiled program) the VMM keeps in its build
// cache and an agent accepts back; a bigger one runs but is not cached.
inline constexpr uint64_t kMaxBuiltProgramBytes = 128 << 20;
// How many lines of a VM's console an error carries.
inline constexpr size_t kConsoleTailLines = 40;

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_RUN_LIMITS_H_
