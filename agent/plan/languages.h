#ifndef CLOUDLET_AGENT_PLAN_LANGUAGES_H_
#define CLOUDLET_AGENT_PLAN_LANGUAGES_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent.pb.h"

namespace cloudlet::agent {

// One command of a plan. argv[0] is a program looked up in the run's PATH,
// or a path relative to the work dir when it contains a '/'.
struct PlannedCommand {
  std::vector<std::string> argv;
  // What users see in the StageChange event, e.g. "cargo build --offline".
  std::string Display() const;
};

// How the agent turns one workload's code into a running program: the
// language table of the design, as data. Pure: no file system, no processes.
struct LanguagePlan {
  // Files to write into the work dir, path relative to it -> content. The
  // user's code is one of them (rust adds a generated Cargo.toml).
  std::vector<std::pair<std::string, std::string>> files;
  // Those of `files` written executable (a project's scripts).
  std::vector<std::string> executable_files;
  // The build stage (a compile, or a syntax check); none for shell.
  std::optional<PlannedCommand> build;
  // True when the run stage needs the build's output (compiled languages),
  // so a RUN action still builds first; false when the build is only a
  // check (python, node), which RUN then skips.
  bool run_needs_build = false;
  // What of the build's result the run stage needs, relative to the work
  // dir: the files a build cache keeps and a cached run gets back instead
  // of building (empty for a check: that it passed is all there is).
  std::vector<std::string> build_outputs;
  // The run stage; the workload's args are appended.
  PlannedCommand run;
  // Environment defaults for both stages; the workload's env overrides them
  // (e.g. PYTHONUNBUFFERED=1 so that python's output streams).
  std::vector<std::pair<std::string, std::string>> env;
  // Programs that must be in PATH, checked before anything starts.
  std::vector<std::string> required_tools;
};

// The plan for `workload`'s language, release flag and code (or project
// files: projects.h). InvalidArgument for LANGUAGE_UNSPECIFIED, a value
// this agent does not know, or a project that lacks what its language's
// convention needs.
absl::StatusOr<LanguagePlan> PlanWorkload(const v1::Workload& workload);

// The package name of a single rust file's generated Cargo project: the
// workload's name when Cargo takes it as a crate name (as the reference
// Cloudlet names it), else "workload".
std::string RustCrateName(absl::string_view workload_name);

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_PLAN_LANGUAGES_H_
