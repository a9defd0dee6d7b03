#ifndef CLOUDLET_COMMON_WORKLOAD_NAMES_H_
#define CLOUDLET_COMMON_WORKLOAD_NAMES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "agent.pb.h"

namespace cloudlet {

// The user-facing spellings of languages and actions, as Cloudlet's TOML
// and JSON write them: "rust", "python", "node", "c", "cpp", "shell";
// "prepare", "run", "prepare-and-run". Parsing is case-insensitive and also
// takes the proto enum names ("PYTHON", "PREPARE_AND_RUN").

// InvalidArgument naming the accepted values for anything else.
absl::StatusOr<v1::Language> ParseLanguage(absl::string_view name);
// "rust" ... ; "unspecified" for LANGUAGE_UNSPECIFIED.
absl::string_view LanguageName(v1::Language language);
// Every language Cloudlet runs: RUST, PYTHON, NODE, C, CPP, SHELL.
std::vector<v1::Language> AllLanguages();
// "rust, python, node, c, cpp, shell": for error messages.
absl::string_view LanguageNameList();

absl::StatusOr<v1::Action> ParseAction(absl::string_view name);
absl::string_view ActionName(v1::Action action);

// Lower-case stage and reason names for terminals and logs ("running",
// "build_failed").
std::string StageName(v1::Stage stage);
std::string ReasonName(v1::Reason reason);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_WORKLOAD_NAMES_H_
