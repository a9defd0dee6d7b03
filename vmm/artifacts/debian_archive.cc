#include "vmm/artifacts/debian_archive.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/last_lines.h"
#include "common/process/subprocess.h"
#include "spdlog/spdlog.h"

namespace cloudlet::vmm {

absl::Status DebianArchive::CheckExist(
    const std::vector<std::string>& packages) {
  for (const std::string& name : packages) {
    {
      absl::MutexLock lock(&mu_);
      if (known_.contains(name)) continue;
    }
    SpawnOptions options;
    options.argv = {"apt-cache", "show", "--no-all-versions", name};
    options.stderr_to_stdout = true;
    absl::StatusOr<CommandResult> shown =
        RunCommand(options, absl::Seconds(60), nullptr, size_t{4} << 10);
    if (!shown.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot ask apt-cache about package \"", name,
          "\": ", shown.status().message()));
    }
    if (!shown->status.success()) {
      spdlog::info("event=package_unknown package={} apt_cache=\"{}\"", name,
                   LastLines(shown->output, 1));
      return absl::InvalidArgumentError(absl::StrCat(
          "workload.packages: \"", name,
          "\" is not in the Debian archive (apt-cache show found no "
          "installable version); check the name at packages.debian.org"));
    }
    absl::MutexLock lock(&mu_);
    known_.insert(name);
  }
  return absl::OkStatus();
}

}  // namespace cloudlet::vmm
