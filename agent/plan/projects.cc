#include "agent/plan/projects.h"

#include <toml++/toml.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/workload_names.h"
#include "common/workload_source.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace cloudlet::agent {
namespace {

const v1::File* FindFile(const v1::Workload& workload, absl::string_view path) {
  for (const v1::File& file : workload.files()) {
    if (file.path() == path) return &file;
  }
  return nullptr;
}

absl::Status Lacks(const v1::Workload& workload, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(LanguageName(workload.language()), " project ", what));
}

// `entrypoint`, else `fallback`; the file must be in the project.
absl::StatusOr<std::string> EntryFile(const v1::Workload& workload,
                                      absl::string_view fallback) {
  std::string entry = workload.entrypoint().empty()
                          ? std::string(fallback)
                          : workload.entrypoint();
  if (FindFile(workload, entry) == nullptr) {
    return Lacks(workload,
                 absl::StrCat("has no ", entry,
                              workload.entrypoint().empty()
                                  ? "; add one or set [build] entrypoint"
                                  : " (its [build] entrypoint)"));
  }
  return entry;
}

absl::StatusOr<LanguagePlan> RustProject(const v1::Workload& workload) {
  const v1::File* manifest = FindFile(workload, "Cargo.toml");
  if (manifest == nullptr) {
    return Lacks(workload, "has no Cargo.toml at its root");
  }
  std::string name;
  try {
    toml::table table = toml::parse(std::string_view(manifest->content()));
    name = table["package"]["name"].value_or(std::string());
  } catch (const toml::parse_error& error) {
    return Lacks(workload, absl::StrCat("has a Cargo.toml that is not valid "
                                        "TOML: ",
                                        std::string(error.description())));
  }
  if (!ValidateProjectPath(name).ok() || absl::StrContains(name, "/")) {
    return Lacks(workload, "has a Cargo.toml without a usable [package] name");
  }
  LanguagePlan plan;
  plan.build = PlannedCommand{{"cargo", "build", "--offline"}};
  if (workload.release()) plan.build->argv.push_back("--release");
  // Dependencies resolve from Debian's packaged crates ([build] packages),
  // the one crate source a guest without network has.
  plan.build->argv.insert(
      plan.build->argv.end(),
      {"--config", "source.crates-io.replace-with=\"debian\"", "--config",
       absl::StrCat("source.debian.directory=\"", kDebianCargoRegistry, "\"")});
  plan.run_needs_build = true;
  std::string binary = absl::StrCat(
      "target/", workload.release() ? "release" : "debug", "/", name);
  plan.run = PlannedCommand{{absl::StrCat("./", binary)}};
  plan.build_outputs = {binary};
  plan.required_tools = {"cargo", "rustc"};
  return plan;
}

absl::StatusOr<LanguagePlan> PythonProject(const v1::Workload& workload) {
  absl::StatusOr<std::string> entry = EntryFile(workload, "main.py");
  if (!entry.ok()) return entry.status();
  LanguagePlan plan;
  plan.build = PlannedCommand{{"python3", "-m", "compileall", "-q", "."}};
  plan.run = PlannedCommand{{"python3", *entry}};
  // Relative entries of PYTHONPATH are taken from the working directory,
  // which is the project's root.
  plan.env = {{"PYTHONUNBUFFERED", "1"}, {"PYTHONPATH", "."}};
  plan.required_tools = {"python3"};
  return plan;
}

absl::StatusOr<LanguagePlan> NodeProject(const v1::Workload& workload) {
  std::string main = "index.js";
  if (const v1::File* package = FindFile(workload, "package.json")) {
    google::protobuf::Struct json;
    if (!google::protobuf::util::JsonStringToMessage(package->content(), &json)
             .ok()) {
      return Lacks(workload, "has a package.json that is not a JSON object");
    }
    auto it = json.fields().find("main");
    if (it != json.fields().end() && it->second.has_string_value()) {
      main = std::string(absl::StripPrefix(it->second.string_value(), "./"));
    }
  }
  if (!ValidateProjectPath(main).ok() || FindFile(workload, main) == nullptr) {
    return Lacks(workload, absl::StrCat("has no ", main,
                                        " (package.json's \"main\", or "
                                        "index.js without one)"));
  }
  LanguagePlan plan;
  plan.build = PlannedCommand{{"node", "--check", main}};
  plan.run = PlannedCommand{{"node", main}};
  plan.required_tools = {"node"};
  return plan;
}

absl::StatusOr<LanguagePlan> NativeProject(const v1::Workload& workload,
                                           const char* compiler,
                                           std::vector<std::string> flags,
                                           std::vector<const char*> suffixes) {
  LanguagePlan plan;
  plan.run_needs_build = true;
  for (const char* makefile : {"GNUmakefile", "makefile", "Makefile"}) {
    const v1::File* file = FindFile(workload, makefile);
    if (file == nullptr) continue;
    std::string program = workload.entrypoint().empty()
                              ? FirstMakeTarget(file->content())
                              : workload.entrypoint();
    if (program.empty() || !ValidateProjectPath(program).ok()) {
      return Lacks(workload, absl::StrCat("has a ", makefile,
                                          " without a first target naming "
                                          "the program; set [build] "
                                          "entrypoint"));
    }
    plan.build = PlannedCommand{{"make"}};
    plan.run = PlannedCommand{{absl::StrCat("./", program)}};
    plan.build_outputs = {program};
    plan.required_tools = {"make", compiler};
    return plan;
  }
  std::vector<std::string> sources;
  for (const v1::File& file : workload.files()) {
    if (absl::StrContains(file.path(), "/")) continue;
    for (const char* suffix : suffixes) {
      if (absl::EndsWith(file.path(), suffix)) sources.push_back(file.path());
    }
  }
  if (sources.empty()) {
    return Lacks(workload,
                 absl::StrCat("has neither a Makefile nor a ", suffixes[0],
                              " file at its root"));
  }
  std::sort(sources.begin(), sources.end());
  std::vector<std::string> argv = {compiler};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"-o", "main"});
  argv.insert(argv.end(), sources.begin(), sources.end());
  argv.push_back("-lm");
  plan.build = PlannedCommand{std::move(argv)};
  plan.run = PlannedCommand{{"./main"}};
  plan.build_outputs = {"main"};
  plan.required_tools = {compiler};
  return plan;
}

absl::StatusOr<LanguagePlan> ShellProject(const v1::Workload& workload) {
  absl::StatusOr<std::string> entry = EntryFile(workload, "main.sh");
  if (!entry.ok()) return entry.status();
  LanguagePlan plan;
  plan.run = PlannedCommand{{"sh", *entry}};
  plan.required_tools = {"sh"};
  return plan;
}

}  // namespace

std::string FirstMakeTarget(absl::string_view makefile) {
  for (absl::string_view line : absl::StrSplit(makefile, '\n')) {
    if (line.empty() || line[0] == '\t' || line[0] == '#' ||
        absl::ascii_isspace(static_cast<unsigned char>(line[0]))) {
      continue;
    }
    line = line.substr(0, line.find('#'));
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view before = line.substr(0, colon);
    absl::string_view after = line.substr(colon + 1);
    // NAME := value, NAME ::= value, NAME = a:b: assignments, not rules.
    if (absl::StartsWith(after, "=") || absl::StartsWith(after, ":=") ||
        absl::StrContains(before, "=")) {
      continue;
    }
    for (absl::string_view target :
         absl::StrSplit(before, ' ', absl::SkipWhitespace())) {
      target = absl::StripAsciiWhitespace(target);
      if (target.empty() || target[0] == '.' ||
          absl::StrContains(target, "%") || absl::StrContains(target, "$")) {
        break;
      }
      return std::string(target);
    }
  }
  return "";
}

absl::StatusOr<LanguagePlan> PlanProject(const v1::Workload& workload) {
  absl::StatusOr<LanguagePlan> plan;
  switch (workload.language()) {
    case v1::RUST:
      plan = RustProject(workload);
      break;
    case v1::PYTHON:
      plan = PythonProject(workload);
      break;
    case v1::NODE:
      plan = NodeProject(workload);
      break;
    case v1::C:
      plan = NativeProject(workload, "gcc", {"-O2"}, {".c"});
      break;
    case v1::CPP:
      plan = NativeProject(workload, "g++", {"-O2", "-std=c++20"},
                           {".cpp", ".cc", ".cxx"});
      break;
    case v1::SHELL:
      plan = ShellProject(workload);
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "workload.language is not set or unknown; use one of ",
          LanguageNameList()));
  }
  if (!plan.ok()) return plan.status();
  for (const v1::File& file : workload.files()) {
    plan->files.emplace_back(file.path(), file.content());
    if (file.executable()) plan->executable_files.push_back(file.path());
  }
  return plan;
}

}  // namespace cloudlet::agent
