#include "common/workload_source.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/run_limits.h"

namespace cloudlet {
namespace {

constexpr size_t kMaxPathBytes = 1024;

bool IsPackageChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) ||
         absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '+' ||
         c == '-' || c == '.';
}

}  // namespace

uint64_t SourceBytes(const v1::Workload& workload) {
  uint64_t bytes = workload.code().size();
  for (const v1::File& file : workload.files()) {
    bytes += file.path().size() + file.content().size();
  }
  return bytes;
}

absl::Status ValidateProjectPath(absl::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("is empty");
  if (path.size() > kMaxPathBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("is ", path.size(), " bytes, over the limit of ",
                     kMaxPathBytes));
  }
  if (path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("contains a NUL byte");
  }
  if (path.front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CEscape(path),
                     "\" is absolute; give it relative to the project"));
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", absl::CEscape(path), "\" ",
          part == ".." ? "leaves the project"
                       : "is not a plain relative path (an empty or '.' part)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkloadSource(const v1::Workload& workload,
                                    uint64_t max_bytes) {
  if (workload.code().empty() && workload.files().empty()) {
    return absl::InvalidArgumentError(
        "workload.code: empty; give the program's source (one file as "
        "`code`, or a project as `files`)");
  }
  if (!workload.code().empty() && !workload.files().empty()) {
    return absl::InvalidArgumentError(
        "workload: both code and files are set; give one file as `code` or "
        "a project as `files`, not both");
  }
  if (static_cast<size_t>(workload.files_size()) > kMaxSourceFiles) {
    return absl::InvalidArgumentError(
        absl::StrCat("workload.files: ", workload.files_size(),
                     " files, over the limit of ", kMaxSourceFiles));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (int i = 0; i < workload.files_size(); ++i) {
    const std::string& path = workload.files(i).path();
    if (absl::Status s = ValidateProjectPath(path); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("workload.files[", i, "].path: ", s.message()));
    }
    if (!seen.insert(path).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "workload.files[", i, "].path: \"", path, "\" is given twice"));
    }
  }
  const uint64_t bytes = SourceBytes(workload);
  if (bytes > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        workload.files().empty() ? "workload.code: " : "workload.files: ",
        bytes, " bytes, over the limit of ", max_bytes, " bytes"));
  }
  if (!workload.entrypoint().empty()) {
    if (workload.files().empty()) {
      return absl::InvalidArgumentError(
          "workload.entrypoint: set for a single file, which is its own entry "
          "point; an entrypoint chooses within a project's files");
    }
    if (absl::Status s = ValidateProjectPath(workload.entrypoint()); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("workload.entrypoint: ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDebianPackages(
    const google::protobuf::RepeatedPtrField<std::string>& packages) {
  if (static_cast<size_t>(packages.size()) > kMaxPackages) {
    return absl::InvalidArgumentError(
        absl::StrCat("workload.packages: ", packages.size(),
                     " packages, over the limit of ", kMaxPackages));
  }
  for (const std::string& name : packages) {
    bool valid = name.size() >= 2 && name.size() <= 128 &&
                 (absl::ascii_islower(static_cast<unsigned char>(name[0])) ||
                  absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) &&
                 std::all_of(name.begin(), name.end(), IsPackageChar);
    if (!valid) {
      return absl::InvalidArgumentError(absl::StrCat(
          "workload.packages: \"", absl::CEscape(name),
          "\" is not a Debian package name (lower-case letters, digits, "
          "'+', '-' and '.', starting with a letter or digit)"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> CanonicalPackages(
    const google::protobuf::RepeatedPtrField<std::string>& packages) {
  std::vector<std::string> sorted(packages.begin(), packages.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return sorted;
}

}  // namespace cloudlet
