#ifndef CLOUDLET_COMMON_WORKLOAD_SOURCE_H_
#define CLOUDLET_COMMON_WORKLOAD_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent.pb.h"

// The rules of a workload's source and packages, which every hop (CLI,
// API, VMM, agent) checks alike so that none can be talked past: a source
// is one file (`code`) or a project (`files`), never both; a project path
// is relative and stays inside the project; packages are Debian package
// names, which can never be read as a shell word or a command option.
namespace cloudlet {

// The bytes a workload's source counts against --max_code_bytes: `code`,
// or every file's path and content.
uint64_t SourceBytes(const v1::Workload& workload);

// OK for "src/main.rs"; InvalidArgument for "", "/etc/passwd", "a/../b",
// "./a", "a//b", a trailing '/', a NUL byte or a path over 1024 bytes.
absl::Status ValidateProjectPath(absl::string_view path);

// Exactly one of code and files, each path valid and given once, at most
// kMaxSourceFiles files and `max_bytes` bytes (SourceBytes), a valid
// entrypoint path when one is given. Messages name the field:
// "workload.files[3].path: \"../x\" leaves the project".
absl::Status ValidateWorkloadSource(const v1::Workload& workload,
                                    uint64_t max_bytes);

// Debian policy's package names: lower-case letters, digits, '+', '-' and
// '.', at least two characters, starting with a letter or digit; at most
// kMaxPackages of them. InvalidArgument naming the first bad one.
absl::Status ValidateDebianPackages(
    const google::protobuf::RepeatedPtrField<std::string>& packages);

// The packages sorted, each once: the identity of an image variant.
std::vector<std::string> CanonicalPackages(
    const google::protobuf::RepeatedPtrField<std::string>& packages);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_WORKLOAD_SOURCE_H_
