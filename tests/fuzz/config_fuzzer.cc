// libFuzzer target: the TOML workload-config loader must turn any input
// into a config or an InvalidArgument status; never crash, hang or throw.
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "absl/strings/string_view.h"
#include "cli/config/workload_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  // Paths the config names resolve against an empty folder, so the loader
  // also walks its "no such file" paths.
  static const std::filesystem::path kBaseDir =
      std::filesystem::temp_directory_path() / "cloudlet-fuzz-empty";
  std::filesystem::create_directories(kBaseDir);
  absl::StatusOr<cloudlet::cli::WorkloadConfig> config =
      cloudlet::cli::ParseWorkloadConfig(text, "fuzz.toml", kBaseDir);
  if (!config.ok() &&
      config.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();  // the contract: every error is InvalidArgument
  }
  return 0;
}
