#ifndef CLOUDLET_TESTS_VM_VM_TEST_ENV_H_
#define CLOUDLET_TESTS_VM_VM_TEST_ENV_H_

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/process/temp_dir.h"
#include "vmm/artifacts/artifact_cache.h"

namespace cloudlet::testing {

// The real cache: CLOUDLET_CACHE_DIR or the default one, so that the kernel
// (minutes to build) is built once for every test run and every binary.
vmm::ArtifactCacheOptions RealCacheOptions();

// The guest artifacts for `language` from the real cache, building what is
// missing (slow the first time: the kernel takes ~8 min).
absl::StatusOr<vmm::GuestArtifacts> RealArtifacts(v1::Language language);

// A copy of the checkout's kernel/ and initramfs/ in a temp dir whose
// initramfs/build-initramfs.sh is replaced by `script` (a bash script body;
// it gets the usual INIT_BINARY AGENT_BINARY OUT_FILE arguments, so it
// writes its artifact to "$3"). Lets a test make a
// cheap artifact build slow, counted or failing.
absl::StatusOr<TempDir> SourceDirWithInitramfsScript(const std::string& script);

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_VM_VM_TEST_ENV_H_
