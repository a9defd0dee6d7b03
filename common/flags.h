#ifndef CLOUDLET_COMMON_FLAGS_H_
#define CLOUDLET_COMMON_FLAGS_H_

#include <string>
#include <vector>

namespace cloudlet {

// Abseil flags are C++ identifiers (--max_vms); users type --max-vms. Returns
// argv with '-' in flag names turned into '_' (values untouched), so both
// spellings work. The strings live in the returned vector; pass
// ArgvPointers() of it to absl::ParseCommandLine.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);
std::vector<char*> ArgvPointers(std::vector<std::string>& args);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_FLAGS_H_
