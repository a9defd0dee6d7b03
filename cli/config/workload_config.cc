#include "cli/config/workload_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <toml++/toml.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "absl/strings/strip.h"
#include "cli/config/project_tree.h"
#include "cli/config/source_text.h"
#include "common/workload_names.h"
#include "common/workload_source.h"

namespace cloudlet::cli {
namespace {

namespace fs = std::filesystem;

// toml++ speaks std::string_view; this Abseil's string_view is its own type.
absl::string_view Sv(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// Builds the "file:line: key: message" errors of one config file.
class Errors {
 public:
  explicit Errors(absl::string_view file) : file_(file) {}

  absl::Status At(const toml::source_region& where, absl::string_view key,
                  absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(
        file_, ":", where.begin.line, ": ", key, key.empty() ? "" : ": ",
        message));
  }
  absl::Status AtFile(absl::string_view key, absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat(file_, ": ", key, ": ", message));
  }

 private:
  std::string file_;
};

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    return absl::NotFoundError(absl::StrCat("no such file: ", path.string()));
  }
  if (fs::is_directory(path, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("is a directory, not a file: ", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot read ", path.string(), ": ", std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// Keys outside `allowed` are ignored, as the reference Cloudlet ignores
// them, with a warning naming each (a typo should not go unseen).
void WarnUnknownKeys(const toml::table& table, absl::string_view prefix,
                     std::initializer_list<absl::string_view> allowed,
                     const Errors& errors, std::vector<std::string>& warnings) {
  for (auto&& [key, node] : table) {
    bool known = false;
    for (absl::string_view name : allowed) {
      if (key.str() == std::string_view(name.data(), name.size())) known = true;
    }
    if (!known) {
      warnings.emplace_back(errors.At(key.source(),
                                      absl::StrCat(prefix, Sv(key.str())),
                                      absl::StrCat("unknown key, ignored; "
                                                   "known: ",
                                                   absl::StrJoin(allowed, ", ")))
                                .message());
    }
  }
}

absl::StatusOr<std::string> GetString(const toml::node& node,
                                      absl::string_view key,
                                      const Errors& errors) {
  if (!node.is_string()) {
    return errors.At(node.source(), key, "must be a string");
  }
  return std::string(node.as_string()->get());
}

absl::StatusOr<int64_t> GetInteger(const toml::node& node,
                                   absl::string_view key, int64_t min,
                                   int64_t max, const Errors& errors) {
  if (!node.is_integer() || node.as_integer()->get() < min ||
      node.as_integer()->get() > max) {
    return errors.At(node.source(), key,
                     absl::StrCat("must be an integer from ", min, " to ", max));
  }
  return node.as_integer()->get();
}

const toml::table* GetTable(const toml::table& parent, absl::string_view key,
                            absl::Status* status, const Errors& errors) {
  const toml::node* node = parent.get(std::string_view(key.data(), key.size()));
  if (node == nullptr) return nullptr;
  if (!node->is_table()) {
    *status = errors.At(node->source(), key, "must be a table");
    return nullptr;
  }
  return node->as_table();
}

// A path from the config: relative to the config's folder, and when
// nothing is there, to the current directory (the reference Cloudlet's
// rule, so that its configs run unchanged).
fs::path ResolveReferencedPath(const std::string& value,
                               const fs::path& base_dir) {
  fs::path path(value);
  if (path.is_absolute()) return path.lexically_normal();
  fs::path beside_config = (base_dir / path).lexically_normal();
  std::error_code error;
  if (!fs::exists(beside_config, error) && fs::exists(path, error)) {
    return path.lexically_normal();
  }
  return beside_config;
}

// Reads `path`, the resolved form of `value` (the config's text for `key`
// at `node`), refusing (before reading) a file over `max_bytes` (0: no
// limit).
absl::StatusOr<std::string> ReadResolvedFile(const fs::path& path,
                                             absl::string_view value,
                                             const toml::node& node,
                                             absl::string_view key,
                                             const Errors& errors,
                                             uint64_t max_bytes) {
  std::error_code error;
  uintmax_t size = fs::is_regular_file(path, error) ? fs::file_size(path, error)
                                                     : 0;
  if (max_bytes > 0 && !error && size > max_bytes) {
    return errors.At(node.source(), key,
                     absl::StrCat(value, " is ", size,
                                  " bytes, over the limit of ", max_bytes,
                                  " bytes"));
  }
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) {
    return errors.At(node.source(), key, content.status().message());
  }
  return content;
}

// Resolves a path from the config (ResolveReferencedPath) and reads it
// (ReadResolvedFile).
absl::StatusOr<std::string> ReadReferencedFile(const toml::node& node,
                                               absl::string_view key,
                                               const fs::path& base_dir,
                                               const Errors& errors,
                                               uint64_t max_bytes = 0) {
  absl::StatusOr<std::string> value = GetString(node, key, errors);
  if (!value.ok()) return value.status();
  if (value->empty()) return errors.At(node.source(), key, "must not be empty");
  return ReadResolvedFile(ResolveReferencedPath(*value, base_dir), *value,
                          node, key, errors, max_bytes);
}

absl::Status ApplyServer(const toml::table& server, v1::RunRequest& request,
                         const Errors& errors,
                         std::vector<std::string>& warnings) {
  WarnUnknownKeys(server, "server.", {"address", "port"}, errors, warnings);
  if (const toml::node* address = server.get("address")) {
    if (absl::StatusOr<std::string> s =
            GetString(*address, "server.address", errors);
        !s.ok()) {
      return s.status();
    }
  }
  if (const toml::node* port = server.get("port")) {
    absl::StatusOr<int64_t> value =
        GetInteger(*port, "server.port", 1, 65535, errors);
    if (!value.ok()) return value.status();
    request.mutable_vm()->set_agent_port(static_cast<uint32_t>(*value));
  }
  return absl::OkStatus();
}

// `[build] packages`: Debian package names, checked here as every hop
// checks them (common/workload_source.h).
absl::Status ApplyPackages(const toml::node& node, v1::Workload& workload,
                           const Errors& errors) {
  if (!node.is_array()) {
    return errors.At(node.source(), "build.packages",
                     "must be an array of Debian package names");
  }
  for (const toml::node& package : *node.as_array()) {
    absl::StatusOr<std::string> name =
        GetString(package, "build.packages", errors);
    if (!name.ok()) return name.status();
    workload.add_packages(*std::move(name));
  }
  if (absl::Status s = ValidateDebianPackages(workload.packages()); !s.ok()) {
    return errors.At(node.source(), "build.packages",
                     absl::StripPrefix(s.message(), "workload.packages: "));
  }
  return absl::OkStatus();
}

// `[build] source-code-path`: one source file, or a project folder.
absl::Status ApplySource(const toml::node& source, const fs::path& base_dir,
                         WorkloadConfig& config, const Errors& errors) {
  constexpr absl::string_view kKey = "build.source-code-path";
  absl::StatusOr<std::string> value = GetString(source, kKey, errors);
  if (!value.ok()) return value.status();
  if (value->empty()) return errors.At(source.source(), kKey, "must not be empty");
  std::error_code error;
  fs::path path = ResolveReferencedPath(*value, base_dir);
  config.source_path = path;
  if (fs::is_directory(path, error)) {
    absl::StatusOr<std::vector<v1::File>> files =
        ReadProjectTree(path, kMaxSourceBytes);
    if (!files.ok()) {
      return errors.At(source.source(), kKey, files.status().message());
    }
    if (files->empty()) {
      return errors.At(source.source(), kKey,
                       absl::StrCat(*value, " is an empty folder"));
    }
    for (v1::File& file : *files) {
      *config.request.mutable_workload()->add_files() = std::move(file);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> code =
      ReadResolvedFile(path, *value, source, kKey, errors, kMaxSourceBytes);
  if (!code.ok()) return code.status();
  if (absl::Status text = CheckSourceText(*value, *code); !text.ok()) {
    return errors.At(source.source(), kKey, text.message());
  }
  config.request.mutable_workload()->set_code(*std::move(code));
  return absl::OkStatus();
}

absl::Status ApplyBuild(const toml::table& build, const fs::path& base_dir,
                        WorkloadConfig& config, const Errors& errors) {
  WarnUnknownKeys(build, "build.",
                  {"source-code-path", "release", "entrypoint", "packages"},
                  errors, config.warnings);
  v1::Workload& workload = *config.request.mutable_workload();
  const toml::node* source = build.get("source-code-path");
  if (source == nullptr) {
    return errors.At(build.source(), "build.source-code-path",
                     "required key is missing");
  }
  if (absl::Status s = ApplySource(*source, base_dir, config, errors); !s.ok()) {
    return s;
  }
  if (const toml::node* release = build.get("release")) {
    if (!release->is_boolean()) {
      return errors.At(release->source(), "build.release",
                       "must be true or false");
    }
    workload.set_release(release->as_boolean()->get());
  }
  if (const toml::node* entry = build.get("entrypoint")) {
    absl::StatusOr<std::string> value =
        GetString(*entry, "build.entrypoint", errors);
    if (!value.ok()) return value.status();
    if (workload.files().empty()) {
      return errors.At(entry->source(), "build.entrypoint",
                       "applies to a project folder; source-code-path names "
                       "one file, which is its own entry point");
    }
    if (absl::Status s = ValidateProjectPath(*value); !s.ok()) {
      return errors.At(entry->source(), "build.entrypoint", s.message());
    }
    workload.set_entrypoint(*std::move(value));
  }
  if (const toml::node* packages = build.get("packages")) {
    if (absl::Status s = ApplyPackages(*packages, workload, errors); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyTimeout(const toml::node& node, v1::Workload& workload,
                          const Errors& errors) {
  absl::Duration timeout;
  if (node.is_integer()) {
    timeout = absl::Seconds(node.as_integer()->get());
  } else if (node.is_string()) {
    if (!absl::ParseDuration(node.as_string()->get(), &timeout)) {
      return errors.At(node.source(), "run.timeout",
                       absl::StrCat("not a duration: \"",
                                    node.as_string()->get(),
                                    "\"; write e.g. 30, \"90s\" or \"2m\""));
    }
  } else {
    return errors.At(node.source(), "run.timeout",
                     "must be a number of seconds or a string like \"2m\"");
  }
  if (timeout <= absl::ZeroDuration()) {
    return errors.At(node.source(), "run.timeout", "must be positive");
  }
  if (timeout > absl::Hours(24)) {
    return errors.At(node.source(), "run.timeout", "must be at most 24h");
  }
  int64_t ms = absl::ToInt64Milliseconds(timeout);
  workload.mutable_timeout()->set_seconds(ms / 1000);
  workload.mutable_timeout()->set_nanos(static_cast<int32_t>(ms % 1000) *
                                        1000000);
  return absl::OkStatus();
}

absl::Status ApplyRun(const toml::table& run, const fs::path& base_dir,
                      v1::Workload& workload, const Errors& errors,
                      std::vector<std::string>& warnings) {
  WarnUnknownKeys(run, "run.", {"args", "env", "stdin-path", "timeout"},
                  errors, warnings);
  if (const toml::node* args = run.get("args")) {
    if (!args->is_array()) {
      return errors.At(args->source(), "run.args", "must be an array of strings");
    }
    for (const toml::node& arg : *args->as_array()) {
      absl::StatusOr<std::string> value = GetString(arg, "run.args", errors);
      if (!value.ok()) return value.status();
      workload.add_args(*std::move(value));
    }
  }
  if (const toml::node* env = run.get("env")) {
    if (!env->is_table()) {
      return errors.At(env->source(), "run.env",
                       "must be a table of NAME = \"value\"");
    }
    for (auto&& [name, value] : *env->as_table()) {
      std::string key = absl::StrCat("run.env.", Sv(name.str()));
      if (name.str().empty() || name.str().find('=') != std::string_view::npos) {
        return errors.At(name.source(), key,
                         "a variable name must be non-empty and without '='");
      }
      absl::StatusOr<std::string> text = GetString(value, key, errors);
      if (!text.ok()) return text.status();
      (*workload.mutable_env())[std::string(name.str())] = *std::move(text);
    }
  }
  if (const toml::node* stdin_path = run.get("stdin-path")) {
    absl::StatusOr<std::string> input = ReadReferencedFile(
        *stdin_path, "run.stdin-path", base_dir, errors);
    if (!input.ok()) return input.status();
    workload.set_stdin(*std::move(input));
  }
  if (const toml::node* timeout = run.get("timeout")) {
    if (absl::Status s = ApplyTimeout(*timeout, workload, errors); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyVm(const toml::table& vm, v1::RunRequest& request,
                     const Errors& errors, std::vector<std::string>& warnings) {
  WarnUnknownKeys(vm, "vm.", {"memory-mib", "vcpus"}, errors, warnings);
  if (const toml::node* memory = vm.get("memory-mib")) {
    absl::StatusOr<int64_t> value =
        GetInteger(*memory, "vm.memory-mib", 64, 1 << 20, errors);
    if (!value.ok()) return value.status();
    request.mutable_vm()->set_memory_mib(static_cast<uint32_t>(*value));
  }
  if (const toml::node* vcpus = vm.get("vcpus")) {
    absl::StatusOr<int64_t> value = GetInteger(*vcpus, "vm.vcpus", 1, 256, errors);
    if (!value.ok()) return value.status();
    request.mutable_vm()->set_vcpus(static_cast<uint32_t>(*value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WorkloadConfig> ParseWorkloadConfig(
    absl::string_view toml_text, absl::string_view display_name,
    const fs::path& base_dir) {
  Errors errors(display_name);
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text.data(), toml_text.size()),
                       std::string_view(display_name.data(),
                                        display_name.size()));
  } catch (const toml::parse_error& error) {
    return errors.At(error.source(), "",
                     absl::StrCat("invalid TOML: ", Sv(error.description())));
  }

  WorkloadConfig config;
  WarnUnknownKeys(root, "",
                  {"workload-name", "language", "action", "server", "build",
                   "run", "vm"},
                  errors, config.warnings);
  v1::Workload& workload = *config.request.mutable_workload();
  workload.set_action(v1::PREPARE_AND_RUN);

  if (const toml::node* name = root.get("workload-name")) {
    absl::StatusOr<std::string> value = GetString(*name, "workload-name", errors);
    if (!value.ok()) return value.status();
    workload.set_name(*value);
  } else {
    workload.set_name(fs::path(std::string(display_name)).stem().string());
  }

  const toml::node* language = root.get("language");
  if (language == nullptr) {
    return errors.AtFile("language", absl::StrCat("required key is missing; "
                                                  "one of ",
                                                  LanguageNameList()));
  }
  absl::StatusOr<std::string> language_name =
      GetString(*language, "language", errors);
  if (!language_name.ok()) return language_name.status();
  absl::StatusOr<v1::Language> parsed_language = ParseLanguage(*language_name);
  if (!parsed_language.ok()) {
    return errors.At(language->source(), "",
                     parsed_language.status().message());
  }
  workload.set_language(*parsed_language);

  if (const toml::node* action = root.get("action")) {
    absl::StatusOr<std::string> name = GetString(*action, "action", errors);
    if (!name.ok()) return name.status();
    absl::StatusOr<v1::Action> parsed = ParseAction(*name);
    if (!parsed.ok()) {
      return errors.At(action->source(), "", parsed.status().message());
    }
    workload.set_action(*parsed);
  }

  absl::Status status;
  if (const toml::table* server = GetTable(root, "server", &status, errors)) {
    if (absl::Status s = ApplyServer(*server, config.request, errors, config.warnings); !s.ok()) {
      return s;
    }
  }
  if (!status.ok()) return status;

  const toml::table* build = GetTable(root, "build", &status, errors);
  if (!status.ok()) return status;
  if (build == nullptr) {
    return errors.AtFile("build.source-code-path", "required key is missing");
  }
  if (absl::Status s = ApplyBuild(*build, base_dir, config, errors); !s.ok()) {
    return s;
  }

  if (const toml::table* run = GetTable(root, "run", &status, errors)) {
    if (absl::Status s = ApplyRun(*run, base_dir, workload, errors, config.warnings); !s.ok()) {
      return s;
    }
  }
  if (!status.ok()) return status;

  if (const toml::table* vm = GetTable(root, "vm", &status, errors)) {
    if (absl::Status s = ApplyVm(*vm, config.request, errors, config.warnings); !s.ok()) {
      return s;
    }
  }
  if (!status.ok()) return status;
  return config;
}

absl::StatusOr<WorkloadConfig> LoadWorkloadConfig(const fs::path& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": ", text.status().message()));
  }
  fs::path base_dir = path.parent_path();
  if (base_dir.empty()) base_dir = ".";
  return ParseWorkloadConfig(*text, path.string(), base_dir);
}

}  // namespace cloudlet::cli
