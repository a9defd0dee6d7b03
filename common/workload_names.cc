#include "common/workload_names.h"

#include <array>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace cloudlet {
namespace {

// The language table: every language Cloudlet runs, as users spell it, in
// the order they see them listed. The agent's build plans
// (agent/languages.cc) and the runtime images (initramfs/images/) have one
// entry per row.
constexpr std::array<std::pair<absl::string_view, v1::Language>, 6>
    kLanguages = {{{"rust", v1::RUST},
                   {"python", v1::PYTHON},
                   {"node", v1::NODE},
                   {"c", v1::C},
                   {"cpp", v1::CPP},
                   {"shell", v1::SHELL}}};

constexpr std::array<std::pair<absl::string_view, v1::Action>, 3> kActions = {
    {{"prepare", v1::PREPARE},
     {"run", v1::RUN},
     {"prepare-and-run", v1::PREPARE_AND_RUN}}};

// "PREPARE_AND_RUN" and "Prepare-And-Run" both become "prepare-and-run".
std::string Canonical(absl::string_view name) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", "-"}});
}

}  // namespace

absl::StatusOr<v1::Language> ParseLanguage(absl::string_view name) {
  std::string canonical = Canonical(name);
  for (const auto& [spelling, language] : kLanguages) {
    if (canonical == spelling) return language;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("language: unknown value \"", name,
                   "\"; expected one of ", LanguageNameList()));
}

absl::string_view LanguageName(v1::Language language) {
  for (const auto& [spelling, value] : kLanguages) {
    if (value == language) return spelling;
  }
  return "unspecified";
}

std::vector<v1::Language> AllLanguages() {
  std::vector<v1::Language> languages;
  languages.reserve(kLanguages.size());
  for (const auto& [spelling, language] : kLanguages) {
    languages.push_back(language);
  }
  return languages;
}

absl::string_view LanguageNameList() {
  static const std::string* const kList = [] {
    std::vector<absl::string_view> names;
    names.reserve(kLanguages.size());
    for (const auto& [spelling, language] : kLanguages) {
      names.push_back(spelling);
    }
    return new std::string(absl::StrJoin(names, ", "));
  }();
  return *kList;
}

absl::StatusOr<v1::Action> ParseAction(absl::string_view name) {
  std::string canonical = Canonical(name);
  for (const auto& [spelling, action] : kActions) {
    if (canonical == spelling) return action;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("action: unknown value \"", name,
                   "\"; expected one of prepare, run, prepare-and-run"));
}

absl::string_view ActionName(v1::Action action) {
  for (const auto& [spelling, value] : kActions) {
    if (value == action) return spelling;
  }
  return "prepare-and-run";
}

std::string StageName(v1::Stage stage) {
  return absl::AsciiStrToLower(v1::Stage_Name(stage));
}

std::string ReasonName(v1::Reason reason) {
  return absl::AsciiStrToLower(v1::Reason_Name(reason));
}

}  // namespace cloudlet
