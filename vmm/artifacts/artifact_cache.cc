#include "vmm/artifacts/artifact_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/last_lines.h"
#include "common/process/subprocess.h"
#include "common/sync/cancel.h"
#include "common/workload_names.h"
#include "spdlog/spdlog.h"
#include "vmm/artifacts/artifact_inputs.h"
#include "vmm/artifacts/debian_archive.h"
#include "vmm/cache/cache_store.h"

namespace cloudlet::vmm {

// The leases of a run's entries; released with the last copy.
class ArtifactLease {
 public:
  std::vector<std::shared_ptr<const FileLock>> leases;
};

namespace {

namespace fs = std::filesystem;

// How many lines of a failed build's output go into the error.
constexpr size_t kErrorTailLines = 25;

// How one artifact is built and where it lives.
struct Recipe {
  std::string name;          // "kernel", "initramfs", "image/python"
  std::string entry_prefix;  // "kernel", "initramfs", "image-python"
  std::string file_name;     // the file inside the entry directory
  std::string expectation;   // said when a build starts
  absl::Duration timeout;
  v1::Language language = v1::LANGUAGE_UNSPECIFIED;  // images only
  std::vector<std::string> packages;  // image variants only
};

// The image of `runtime`: the language's, or a variant with its packages.
Recipe ImageRecipe(const Runtime& runtime) {
  const std::string lang(LanguageName(runtime.language));
  Recipe recipe{ImageArtifactName(runtime.language),
                absl::StrCat("image-", lang), "image.sqfs",
                runtime.language == v1::RUST ? "about 2-3 min" : "about 1-2 min",
                absl::Minutes(30), runtime.language, {}};
  if (!runtime.packages.empty()) {
    recipe.name = absl::StrCat(recipe.name, " + ",
                               absl::StrJoin(runtime.packages, ","));
    recipe.entry_prefix = VariantEntryKind(runtime.language);
    recipe.expectation = absl::StrCat(
        recipe.expectation, ", once for this package list");
    recipe.packages = runtime.packages;
  }
  return recipe;
}

std::optional<Recipe> FindRecipe(absl::string_view name) {
  if (name == "kernel") {
    return Recipe{"kernel", "kernel", "bzImage",
                  "the kernel takes ~10 min the first time", absl::Minutes(60),
                  v1::LANGUAGE_UNSPECIFIED, {}};
  }
  if (name == "initramfs") {
    return Recipe{"initramfs", "initramfs", "initrd.cpio", "a few seconds",
                  absl::Minutes(5), v1::LANGUAGE_UNSPECIFIED, {}};
  }
  if (absl::StartsWith(name, "image/")) {
    absl::StatusOr<v1::Language> language = ParseLanguage(name.substr(6));
    if (!language.ok()) return std::nullopt;
    std::string lang(LanguageName(*language));
    if (name.substr(6) != lang) return std::nullopt;  // canonical names only
    return ImageRecipe(*language);
  }
  return std::nullopt;
}

std::string FormatElapsed(absl::Duration d) {
  int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 60) return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
  return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
}

// The cache store's key of `recipe`'s entry built from inputs hashing to
// `key`.
EntryKey EntryKeyOf(const Recipe& recipe, const std::string& key) {
  return EntryKey{recipe.entry_prefix, key, recipe.file_name};
}

bool IsRegularFile(const fs::path& path, uintmax_t* size = nullptr) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (size != nullptr) *size = static_cast<uintmax_t>(st.st_size);
  return true;
}

class ArtifactCacheImpl : public ArtifactCache {
 public:
  ArtifactCacheImpl(ArtifactCacheOptions options,
                    std::shared_ptr<CacheStore> store)
      : options_(std::move(options)), store_(std::move(store)) {}

  absl::StatusOr<GuestArtifacts> Ensure(const Runtime& runtime,
                                        const ProgressCallback& progress,
                                        const CancelToken& cancel) override {
    const v1::Language language = runtime.language;
    if (language == v1::LANGUAGE_UNSPECIFIED ||
        !v1::Language_IsValid(language)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no runtime image for language ", static_cast<int>(language),
          "; languages: ", LanguageNameList()));
    }
    auto lease = std::make_shared<ArtifactLease>();
    GuestArtifacts artifacts;
    absl::StatusOr<fs::path> kernel =
        EnsureEntry("kernel", progress, cancel, lease.get());
    if (!kernel.ok()) return kernel.status();
    artifacts.kernel = *std::move(kernel);
    absl::StatusOr<fs::path> initramfs =
        EnsureEntry("initramfs", progress, cancel, lease.get());
    if (!initramfs.ok()) return initramfs.status();
    artifacts.initramfs = *std::move(initramfs);
    absl::StatusOr<fs::path> image =
        EnsureRecipe(ImageRecipe(runtime), progress, cancel, lease.get());
    if (!image.ok()) return image.status();
    artifacts.image = *std::move(image);
    // Entry names hash every input of the initramfs and the image.
    artifacts.runtime_key =
        absl::StrCat(artifacts.initramfs.parent_path().filename().string(),
                     " ", artifacts.image.parent_path().filename().string());
    artifacts.lease = std::move(lease);
    return artifacts;
  }

  absl::StatusOr<fs::path> EnsureArtifact(
      absl::string_view name, const ProgressCallback& progress,
      const CancelToken& cancel) override {
    return EnsureEntry(name, progress, cancel, nullptr);
  }

  absl::Status CheckPackages(
      const std::vector<std::string>& packages) override {
    return archive_.CheckExist(packages);
  }

  std::vector<v1::ArtifactState> List() const override {
    std::vector<v1::ArtifactState> states;
    for (const std::string& name : AllArtifactNames()) {
      v1::ArtifactState& state = states.emplace_back();
      state.set_name(name);
      std::optional<Recipe> recipe = FindRecipe(name);
      CacheCounts counts = store_->counts(recipe->entry_prefix);
      state.set_cache_hits(counts.hits);
      state.set_builds(counts.builds);
      state.set_build_failures(counts.build_failures);
      absl::StatusOr<std::string> key = Key(*recipe);
      if (!key.ok()) continue;
      state.set_key(*key);
      uintmax_t size = 0;
      fs::path file = store_->dir() /
                      CacheStore::EntryName(EntryKeyOf(*recipe, *key)) /
                      recipe->file_name;
      if (IsRegularFile(file, &size)) {
        state.set_cached(true);
        state.set_size_bytes(size);
      }
    }
    return states;
  }

  std::map<std::string, std::optional<std::string>> CurrentEntries()
      const override {
    std::map<std::string, std::optional<std::string>> current;
    for (const std::string& name : AllArtifactNames()) {
      std::optional<Recipe> recipe = FindRecipe(name);
      absl::StatusOr<std::string> key = Key(*recipe);
      current[recipe->entry_prefix] =
          key.ok() ? std::optional<std::string>(
                         CacheStore::EntryName(EntryKeyOf(*recipe, *key)))
                   : std::nullopt;
    }
    return current;
  }

  const std::shared_ptr<CacheStore>& store() const override { return store_; }

 private:
  // Ensures one artifact; with `lease`, also keeps the entry's lease in it.
  absl::StatusOr<fs::path> EnsureEntry(absl::string_view name,
                                       const ProgressCallback& progress,
                                       const CancelToken& cancel,
                                       ArtifactLease* lease) {
    std::optional<Recipe> recipe = FindRecipe(name);
    if (!recipe) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown artifact '", name, "'; known: ",
                       absl::StrJoin(AllArtifactNames(), ", ")));
    }
    return EnsureRecipe(*recipe, progress, cancel, lease);
  }

  absl::StatusOr<fs::path> EnsureRecipe(const Recipe& recipe,
                                        const ProgressCallback& progress,
                                        const CancelToken& cancel,
                                        ArtifactLease* lease) {
    auto report = [&](absl::string_view message, bool cached) {
      if (!progress) return;
      v1::Progress event;
      event.set_artifact(recipe.name);
      event.set_message(std::string(message));
      event.set_cached(cached);
      progress(event);
    };
    absl::StatusOr<std::string> key = Key(recipe);
    if (!key.ok()) return key.status();
    bool waited = false;
    CacheStore::BuildOptions options;
    options.deadline = absl::Now() + recipe.timeout + absl::Minutes(5);
    options.cancel = cancel;
    options.on_wait = [&](pid_t holder) {
      waited = true;
      report(holder > 0
                 ? absl::StrCat("waiting for the build in process ", holder)
                 : "waiting for another build",
             false);
    };
    bool built = false;
    absl::StatusOr<CacheEntry> entry = store_->FindOrBuild(
        EntryKeyOf(recipe, *key),
        [&](const fs::path& out_dir) {
          return Build(recipe, *key, out_dir, report, cancel);
        },
        options, &built);
    if (!entry.ok()) return entry.status();
    if (!built) {
      report(waited ? "found in cache (built by another process)"
                    : "found in cache",
             true);
    }
    if (lease != nullptr) lease->leases.push_back(entry->lease);
    return entry->dir / recipe.file_name;
  }

  // SHA-256 over every input of the artifact.
  absl::StatusOr<std::string> Key(const Recipe& recipe) const {
    const fs::path& src = options_.source_dir;
    std::string material = absl::StrCat("cloudlet-artifact-v1\n", recipe.name,
                                        "\n");
    auto add_file = [&](const fs::path& path) -> absl::Status {
      absl::StatusOr<std::string> digest = hasher_.FileDigest(path);
      if (!digest.ok()) return digest.status();
      absl::StrAppend(&material, path.filename().string(), " ", *digest, "\n");
      return absl::OkStatus();
    };
    auto add_env = [&](const char* name) {
      const char* value = std::getenv(name);
      absl::StrAppend(&material, name, "=", value ? value : "", "\n");
    };
    absl::Status status;
    if (recipe.name == "kernel") {
      status.Update(add_file(src / "kernel/build-kernel.sh"));
      status.Update(add_file(src / "kernel/config.fragment"));
      status.Update(add_file(src / "kernel/guest.patch"));
      absl::StatusOr<std::string> version = hasher_.LinuxSourceVersion();
      if (!version.ok()) return version.status();
      absl::StrAppend(&material, "linux-source-6.1 ", *version, "\n");
      add_env("CLOUDLET_LINUX_TARBALL");
    } else if (recipe.name == "initramfs") {
      status.Update(add_file(src / "initramfs/build-initramfs.sh"));
      status.Update(add_file(options_.init_binary));
      status.Update(add_file(options_.agent_binary));
      const char* busybox = std::getenv("CLOUDLET_BUSYBOX");
      status.Update(add_file(busybox && *busybox ? busybox : "/bin/busybox"));
    } else {
      status.Update(add_file(src / "initramfs/build-image.sh"));
      status.Update(add_file(src / "initramfs/images" /
                             absl::StrCat(LanguageName(recipe.language),
                                          ".packages")));
      if (!recipe.packages.empty()) {
        absl::StrAppend(&material, "variant ",
                        absl::StrJoin(recipe.packages, ","), "\n");
      }
      absl::StrAppend(&material, "apt ", hasher_.AptState(), "\n");
      add_env("CLOUDLET_DEBIAN_SUITE");
      add_env("CLOUDLET_APT_SOURCES");
    }
    if (!status.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "an input of ", recipe.name, " is missing: ", status.message()));
    }
    return Sha256Hex(material);
  }

  std::vector<std::string> BuildCommand(const Recipe& recipe,
                                        const fs::path& out_dir) const {
    const fs::path& src = options_.source_dir;
    if (recipe.name == "kernel") {
      return {"bash", (src / "kernel/build-kernel.sh").string(),
              out_dir.string()};
    }
    if (recipe.name == "initramfs") {
      return {"bash", (src / "initramfs/build-initramfs.sh").string(),
              options_.init_binary.string(), options_.agent_binary.string(),
              (out_dir / recipe.file_name).string()};
    }
    std::vector<std::string> argv = {
        "bash", (src / "initramfs/build-image.sh").string(),
        std::string(LanguageName(recipe.language)),
        (out_dir / recipe.file_name).string()};
    argv.insert(argv.end(), recipe.packages.begin(), recipe.packages.end());
    return argv;
  }

  // Runs the artifact's build script into `out_dir` (the store's build
  // dir of the entry, under its lock).
  absl::Status Build(
      const Recipe& recipe, const std::string& key, const fs::path& out_dir,
      const std::function<void(absl::string_view, bool)>& report,
      const CancelToken& cancel) {
    spdlog::info("event=artifact_build_start artifact={} key={}", recipe.name,
                 key.substr(0, 16));
    report(absl::StrCat("building (", recipe.expectation, ")"), false);
    absl::Time start = absl::Now();
    SpawnOptions options;
    options.argv = BuildCommand(recipe, out_dir);
    options.cwd = out_dir.parent_path();
    absl::StatusOr<CommandResult> result = RunCommand(
        options, recipe.timeout,
        [&](absl::string_view line) {
          spdlog::debug("event=artifact_build_output artifact={} line=\"{}\"",
                        recipe.name, std::string(line));
          if (!line.empty()) report(line, false);
        },
        size_t{64} << 10, cancel);
    absl::Duration elapsed = absl::Now() - start;
    if (!result.ok()) {
      spdlog::warn("event=artifact_build_stopped artifact={} error=\"{}\"",
                   recipe.name, std::string(result.status().message()));
      if (absl::IsCancelled(result.status())) {
        return absl::CancelledError(
            absl::StrCat("building ", recipe.name, " was cancelled"));
      }
      return absl::Status(result.status().code(),
                          absl::StrCat("building ", recipe.name, ": ",
                                       LastLines(result.status().message(),
                                                 kErrorTailLines)));
    }
    const fs::path built = out_dir / recipe.file_name;
    uintmax_t size = 0;
    if (!result->status.success() || !IsRegularFile(built, &size) ||
        size == 0) {
      std::string why = result->status.success()
                            ? absl::StrCat("it did not write ", built.string())
                            : result->status.ToString();
      spdlog::warn("event=artifact_build_failed artifact={} why=\"{}\"",
                   recipe.name, why);
      return absl::InternalError(absl::StrCat(
          "building ", recipe.name, " failed (", why, ", ",
          absl::StrJoin(options.argv, " "), "); output ends:\n",
          LastLines(result->output, kErrorTailLines)));
    }
    spdlog::info("event=artifact_built artifact={} key={} ms={} bytes={}",
                 recipe.name, key.substr(0, 16),
                 absl::ToInt64Milliseconds(elapsed), size);
    report(absl::StrCat("built in ", FormatElapsed(elapsed), ", ",
                        FormatSize(size)),
           false);
    return absl::OkStatus();
  }

  const ArtifactCacheOptions options_;
  const std::shared_ptr<CacheStore> store_;
  mutable InputHasher hasher_;
  DebianArchive archive_;
};

}  // namespace

std::vector<std::string> AllArtifactNames() {
  std::vector<std::string> names = {"kernel", "initramfs"};
  for (v1::Language language : AllLanguages()) {
    names.push_back(ImageArtifactName(language));
  }
  return names;
}

std::string VariantEntryKind(v1::Language language) {
  return absl::StrCat(kVariantEntryPrefix, LanguageName(language));
}

std::string ImageArtifactName(v1::Language language) {
  return absl::StrCat("image/", LanguageName(language));
}

absl::StatusOr<std::unique_ptr<ArtifactCache>> ArtifactCache::Open(
    ArtifactCacheOptions options) {
  for (const char* script :
       {"kernel/build-kernel.sh", "kernel/config.fragment", "kernel/guest.patch",
        "initramfs/build-initramfs.sh", "initramfs/build-image.sh"}) {
    if (!IsRegularFile(options.source_dir / script)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "source dir ", options.source_dir.string(), " has no ", script,
          " (--source_dir must be a Cloudlet checkout)"));
    }
  }
  if (!IsRegularFile(options.init_binary)) {
    return absl::InvalidArgumentError(
        absl::StrCat("init binary not found: ", options.init_binary.string(),
                     " (build the cloudlet-init target or pass "
                     "--init_binary)"));
  }
  if (!IsRegularFile(options.agent_binary)) {
    return absl::InvalidArgumentError(
        absl::StrCat("agent binary not found: ", options.agent_binary.string(),
                     " (build the cloudlet-agent target or pass "
                     "--agent_binary)"));
  }
  absl::StatusOr<std::unique_ptr<CacheStore>> store =
      CacheStore::Open(options.cache_dir);
  if (!store.ok()) return store.status();
  return std::make_unique<ArtifactCacheImpl>(
      std::move(options), std::shared_ptr<CacheStore>(*std::move(store)));
}

}  // namespace cloudlet::vmm
