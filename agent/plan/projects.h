#ifndef CLOUDLET_AGENT_PLAN_PROJECTS_H_
#define CLOUDLET_AGENT_PLAN_PROJECTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent.pb.h"
#include "agent/plan/languages.h"

namespace cloudlet::agent {

// The plan of a project (a workload given as `files`): one convention per
// language, read from the files themselves (README's "Projects"):
//   rust    a Cargo project: Cargo.toml and src/; `cargo build --offline`
//           with crates-io replaced by Debian's packaged crates; runs the
//           binary named after the package
//   python  `entrypoint` or main.py; every module syntax-checked; the
//           project is the working directory and on PYTHONPATH
//   node    package.json's "main", else index.js; node_modules/ as given
//   c, cpp  a Makefile at the root: `make`, then the program named by
//           `entrypoint` or the Makefile's first target; else every .c
//           (cpp: .cpp, .cc, .cxx) at the root compiled into one program
//   shell   `entrypoint` or main.sh
// Pure, like PlanWorkload. InvalidArgument naming what the project lacks
// ("python project has no main.py; add one or set [build] entrypoint").
absl::StatusOr<LanguagePlan> PlanProject(const v1::Workload& workload);

// Where Debian's librust-*-dev packages put their crates: the rust image's
// replacement for crates-io.
inline constexpr char kDebianCargoRegistry[] = "/usr/share/cargo/registry";

// The first explicit target of a Makefile ("app" for "app: main.o util.o"),
// skipping special targets (.PHONY), pattern rules and variable
// assignments; empty when there is none.
std::string FirstMakeTarget(absl::string_view makefile);

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_PLAN_PROJECTS_H_
