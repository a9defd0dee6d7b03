#include "agent/plan/languages.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/plan/projects.h"
#include "common/workload_names.h"

namespace cloudlet::agent {
namespace {

// The generated Cargo project's package (and so binary) name when the
// workload's name is not a crate name Cargo takes.
constexpr char kFallbackCrateName[] = "workload";

// Names Cargo refuses for a package, or that clash with its target dirs.
constexpr const char* kReservedCrateNames[] = {
    "alloc", "build", "core", "crate", "deps", "examples", "incremental",
    "proc_macro", "self", "std", "super", "test"};

// The release profile leaves out the standard library's debug info, as
// cargo does by default since Rust 1.77 (Debian 12 has 1.63): a hello
// world is ~0.5 MB instead of ~12 MB, which a cached build sends into
// every VM that runs it. Debug builds keep it all.
std::string CargoToml(absl::string_view crate_name) {
  return absl::StrCat("[package]\nname = \"", crate_name,
                      "\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n"
                      "[dependencies]\n\n"
                      "[profile.release]\nstrip = \"debuginfo\"\n");
}

LanguagePlan RustPlan(const v1::Workload& workload) {
  LanguagePlan plan;
  const std::string crate_name = RustCrateName(workload.name());
  plan.files = {{"Cargo.toml", CargoToml(crate_name)},
                {"src/main.rs", workload.code()}};
  plan.build = PlannedCommand{{"cargo", "build", "--offline"}};
  if (workload.release()) plan.build->argv.push_back("--release");
  plan.run_needs_build = true;
  std::string binary = absl::StrCat(
      "target/", workload.release() ? "release" : "debug", "/", crate_name);
  plan.run = PlannedCommand{{absl::StrCat("./", binary)}};
  plan.build_outputs = {binary};
  plan.required_tools = {"cargo", "rustc"};
  return plan;
}

LanguagePlan CompiledPlan(const v1::Workload& workload, const char* compiler,
                          const char* source, std::vector<std::string> flags) {
  LanguagePlan plan;
  plan.files = {{source, workload.code()}};
  std::vector<std::string> argv = {compiler};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"-o", "main", source, "-lm"});
  plan.build = PlannedCommand{std::move(argv)};
  plan.run_needs_build = true;
  plan.run = PlannedCommand{{"./main"}};
  plan.build_outputs = {"main"};
  plan.required_tools = {compiler};
  return plan;
}

LanguagePlan InterpretedPlan(const v1::Workload& workload,
                             const char* interpreter, const char* source,
                             std::vector<std::string> check_argv) {
  LanguagePlan plan;
  plan.files = {{source, workload.code()}};
  if (!check_argv.empty()) plan.build = PlannedCommand{std::move(check_argv)};
  plan.run = PlannedCommand{{interpreter, source}};
  plan.required_tools = {interpreter};
  return plan;
}

}  // namespace

std::string PlannedCommand::Display() const { return absl::StrJoin(argv, " "); }

std::string RustCrateName(absl::string_view workload_name) {
  bool valid = !workload_name.empty() && workload_name.size() <= 64 &&
               absl::ascii_isalpha(static_cast<unsigned char>(workload_name[0]));
  for (char c : workload_name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      valid = false;
    }
  }
  for (const char* reserved : kReservedCrateNames) {
    if (absl::EqualsIgnoreCase(workload_name, reserved)) valid = false;
  }
  return valid ? std::string(workload_name) : kFallbackCrateName;
}

absl::StatusOr<LanguagePlan> PlanWorkload(const v1::Workload& workload) {
  if (!workload.files().empty()) return PlanProject(workload);
  switch (workload.language()) {
    case v1::RUST:
      return RustPlan(workload);
    case v1::C:
      return CompiledPlan(workload, "gcc", "main.c", {"-O2"});
    case v1::CPP:
      return CompiledPlan(workload, "g++", "main.cpp", {"-O2", "-std=c++20"});
    case v1::PYTHON: {
      LanguagePlan plan =
          InterpretedPlan(workload, "python3", "main.py",
                          {"python3", "-m", "py_compile", "main.py"});
      // A pipe makes python block-buffer stdout; the user wants each line
      // as it is printed.
      plan.env = {{"PYTHONUNBUFFERED", "1"}};
      return plan;
    }
    case v1::NODE:
      return InterpretedPlan(workload, "node", "main.js",
                             {"node", "--check", "main.js"});
    case v1::SHELL:
      return InterpretedPlan(workload, "sh", "main.sh", {});
    case v1::LANGUAGE_UNSPECIFIED:
      return absl::InvalidArgumentError(absl::StrCat(
          "workload.language is not set; use one of ", LanguageNameList()));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("workload.language: unknown language ",
                       static_cast<int>(workload.language()), "; use one of ",
                       LanguageNameList()));
  }
}

}  // namespace cloudlet::agent
