#ifndef CLOUDLET_CLI_CONFIG_WORKLOAD_CONFIG_H_
#define CLOUDLET_CLI_CONFIG_WORKLOAD_CONFIG_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vmm.pb.h"

namespace cloudlet::cli {

// A workload config (Cloudlet's TOML, plus optional [run] and [vm] tables):
//
//   workload-name = "fibonacci"          # optional; default: the file's stem
//   language = "rust"                    # rust, python, node, c, cpp, shell
//   action = "prepare-and-run"           # prepare, run, prepare-and-run
//   [server]                             # Cloudlet's; optional
//   address = "localhost"                #   accepted, not used
//   port = 50051                         #   the agent's port in the guest
//   [build]
//   source-code-path = "fibonacci.rs"    # a file, or a project folder
//   release = true
//   entrypoint = "app.py"                # projects: README's "Projects"
//   packages = ["python3-numpy"]         # Debian packages for the image
//   [run]                                # optional
//   args = ["a", "b"]
//   env = { NAME = "value" }
//   stdin-path = "input.txt"             # relative to this file's folder
//   timeout = 30                         # seconds, or a string: "2m", "90s"
//   [vm]                                 # optional
//   memory-mib = 256
//   vcpus = 1
//
// `[server]` never says where the API is (that is --api-url). Paths are
// relative to this file's folder, and when nothing is there, to the current
// directory (the reference Cloudlet's rule). A folder's files are read as
// project_tree.h says. An unknown key is ignored with a warning, as the
// reference ignores it.
//
// Every error is InvalidArgument, with a message that names the file as
// given, the line and the key:
//   hello.toml:4: language: unknown value "go"; expected one of rust, ...
struct WorkloadConfig {
  v1::RunRequest request;                // code (or files) and stdin read in
  std::filesystem::path source_path;     // resolved source-code-path
  // "hello.toml:7: colour: unknown key, ignored; ...": for the terminal.
  std::vector<std::string> warnings;
};

// Reads and validates the config at `path` and the files it names.
absl::StatusOr<WorkloadConfig> LoadWorkloadConfig(
    const std::filesystem::path& path);

// The same for a config already in memory; relative paths resolve against
// `base_dir`, and `display_name` is the file name errors show.
absl::StatusOr<WorkloadConfig> ParseWorkloadConfig(
    absl::string_view toml_text, absl::string_view display_name,
    const std::filesystem::path& base_dir);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_CONFIG_WORKLOAD_CONFIG_H_
