#include "tests/vm/vm_test_env.h"

#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace cloudlet::testing {

namespace fs = std::filesystem;

vmm::ArtifactCacheOptions RealCacheOptions() {
  vmm::ArtifactCacheOptions options;
  options.cache_dir = vmm::CacheStore::DefaultDir();
  options.source_dir = CLOUDLET_SOURCE_DIR;
  options.init_binary = CLOUDLET_INIT_BINARY;
  options.agent_binary = CLOUDLET_AGENT_BINARY;
  return options;
}

absl::StatusOr<vmm::GuestArtifacts> RealArtifacts(v1::Language language) {
  absl::StatusOr<std::unique_ptr<vmm::ArtifactCache>> cache =
      vmm::ArtifactCache::Open(RealCacheOptions());
  if (!cache.ok()) return cache.status();
  return (*cache)->Ensure(language, nullptr, {});
}

absl::StatusOr<TempDir> SourceDirWithInitramfsScript(
    const std::string& script) {
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-fake-source-");
  if (!dir.ok()) return dir.status();
  std::error_code error;
  for (const char* sub : {"kernel", "initramfs"}) {
    fs::copy(fs::path(CLOUDLET_SOURCE_DIR) / sub, dir->path() / sub,
             fs::copy_options::recursive, error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("copying ", sub, ": ", error.message()));
    }
  }
  std::ofstream out(dir->path() / "initramfs/build-initramfs.sh",
                    std::ios::trunc);
  out << "#!/usr/bin/env bash\nset -euo pipefail\n" << script << "\n";
  if (!out.flush()) return absl::InternalError("cannot write the fake script");
  return dir;
}

}  // namespace cloudlet::testing
