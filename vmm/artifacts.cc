#include "vmm/artifacts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "common/workload_names.h"
#include "spdlog/spdlog.h"
#include "vmm/artifact_inputs.h"
#include "vmm/file_lock.h"

namespace cloudlet::vmm {

// Shared locks on the entries' use-lock files; released with the last copy.
class ArtifactLease {
 public:
  std::vector<FileLock> locks;
};

namespace {

namespace fs = std::filesystem;

constexpr v1::Language kLanguages[] = {v1::RUST, v1::PYTHON, v1::NODE,
                                       v1::C,    v1::CPP,    v1::SHELL};
// How many lines of a failed build's output go into the error.
constexpr size_t kErrorTailLines = 25;
// How long a lease waits for a prune that holds the entry's use lock (it
// holds it for a rename).
constexpr absl::Duration kLeaseWait = absl::Seconds(10);

// How one artifact is built and where it lives.
struct Recipe {
  std::string name;          // "kernel", "initramfs", "image/python"
  std::string entry_prefix;  // "kernel", "initramfs", "image-python"
  std::string file_name;     // the file inside the entry directory
  std::string expectation;   // said when a build starts
  absl::Duration timeout;
  v1::Language language = v1::LANGUAGE_UNSPECIFIED;  // images only
};

std::optional<Recipe> FindRecipe(absl::string_view name) {
  if (name == "kernel") {
    return Recipe{"kernel", "kernel", "bzImage",
                  "the kernel takes ~10 min the first time", absl::Minutes(60)};
  }
  if (name == "initramfs") {
    return Recipe{"initramfs", "initramfs", "initrd.cpio", "a few seconds",
                  absl::Minutes(5)};
  }
  if (absl::StartsWith(name, "image/")) {
    absl::StatusOr<v1::Language> language = ParseLanguage(name.substr(6));
    if (!language.ok()) return std::nullopt;
    std::string lang(LanguageName(*language));
    if (name.substr(6) != lang) return std::nullopt;  // canonical names only
    return Recipe{ImageArtifactName(*language), absl::StrCat("image-", lang),
                  "image.sqfs",
                  *language == v1::RUST ? "about 2-3 min" : "about 1-2 min",
                  absl::Minutes(30), *language};
  }
  return std::nullopt;
}

std::string FormatElapsed(absl::Duration d) {
  int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 60) return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
  return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
}

std::string LastLines(absl::string_view text, size_t count) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - count);
  return absl::StrJoin(lines, "\n");
}

bool IsRegularFile(const fs::path& path, uintmax_t* size = nullptr) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (size != nullptr) *size = static_cast<uintmax_t>(st.st_size);
  return true;
}

class ArtifactCacheImpl : public ArtifactCache {
 public:
  explicit ArtifactCacheImpl(ArtifactCacheOptions options)
      : options_(std::move(options)) {}

  absl::StatusOr<GuestArtifacts> Ensure(v1::Language language,
                                        const ProgressCallback& progress,
                                        const CancelledFn& cancelled) override {
    if (language == v1::LANGUAGE_UNSPECIFIED ||
        !v1::Language_IsValid(language)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no runtime image for language ", static_cast<int>(language),
          "; languages: ", LanguageNameList()));
    }
    auto lease = std::make_shared<ArtifactLease>();
    GuestArtifacts artifacts;
    absl::StatusOr<fs::path> kernel =
        EnsureEntry("kernel", progress, cancelled, lease.get());
    if (!kernel.ok()) return kernel.status();
    artifacts.kernel = *std::move(kernel);
    absl::StatusOr<fs::path> initramfs =
        EnsureEntry("initramfs", progress, cancelled, lease.get());
    if (!initramfs.ok()) return initramfs.status();
    artifacts.initramfs = *std::move(initramfs);
    absl::StatusOr<fs::path> image = EnsureEntry(
        ImageArtifactName(language), progress, cancelled, lease.get());
    if (!image.ok()) return image.status();
    artifacts.image = *std::move(image);
    artifacts.lease = std::move(lease);
    return artifacts;
  }

  absl::StatusOr<fs::path> EnsureArtifact(
      absl::string_view name, const ProgressCallback& progress,
      const CancelledFn& cancelled) override {
    return EnsureEntry(name, progress, cancelled, nullptr);
  }

  std::vector<v1::ArtifactState> List() const override {
    std::vector<v1::ArtifactState> states;
    for (const std::string& name : AllArtifactNames()) {
      v1::ArtifactState& state = states.emplace_back();
      state.set_name(name);
      std::optional<Recipe> recipe = FindRecipe(name);
      absl::StatusOr<std::string> key = Key(*recipe);
      if (!key.ok()) continue;
      state.set_key(*key);
      uintmax_t size = 0;
      fs::path file = options_.cache_dir /
                      ArtifactEntryName(recipe->name, *key) /
                      recipe->file_name;
      if (IsRegularFile(file, &size)) {
        state.set_cached(true);
        state.set_size_bytes(size);
      }
    }
    absl::MutexLock lock(&counts_mu_);
    for (v1::ArtifactState& state : states) {
      auto counts = counts_.find(state.name());
      if (counts == counts_.end()) continue;
      state.set_cache_hits(counts->second.cache_hits);
      state.set_builds(counts->second.builds);
      state.set_build_failures(counts->second.build_failures);
    }
    return states;
  }

  const fs::path& cache_dir() const override { return options_.cache_dir; }

 private:
  // Ensures one artifact; with `lease`, also puts a shared lock on the
  // entry into it.
  absl::StatusOr<fs::path> EnsureEntry(absl::string_view name,
                                       const ProgressCallback& progress,
                                       const CancelledFn& cancelled,
                                       ArtifactLease* lease) {
    std::optional<Recipe> recipe = FindRecipe(name);
    if (!recipe) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown artifact '", name, "'; known: ",
                       absl::StrJoin(AllArtifactNames(), ", ")));
    }
    auto report = [&](absl::string_view message, bool cached) {
      if (!progress) return;
      v1::Progress event;
      event.set_artifact(recipe->name);
      event.set_message(std::string(message));
      event.set_cached(cached);
      progress(event);
    };
    absl::StatusOr<std::string> key = Key(*recipe);
    if (!key.ok()) return key.status();
    const std::string entry_name = ArtifactEntryName(recipe->name, *key);
    const fs::path entry = options_.cache_dir / entry_name;
    const fs::path file = entry / recipe->file_name;
    // Whether the entry is there (and, with `lease`, now leased); false
    // too when it was pruned between the stat and the lease.
    auto found = [&](absl::string_view message) -> absl::StatusOr<bool> {
      if (!IsRegularFile(file)) return false;
      absl::StatusOr<bool> leased = Lease(entry_name, file, lease);
      if (!leased.ok() || !*leased) return leased;
      Count(recipe->name, &Counts::cache_hits);
      report(message, true);
      return true;
    };
    absl::StatusOr<bool> hit = found("found in cache");
    if (!hit.ok()) return hit.status();
    if (*hit) return file;

    absl::StatusOr<FileLock> lock = FileLock::Acquire(
        EntryBuildLockPath(options_.cache_dir, entry_name),
        absl::Now() + recipe->timeout + absl::Minutes(5), cancelled,
        [&](pid_t holder) {
          report(holder > 0 ? absl::StrCat("waiting for the build in process ",
                                           holder)
                            : "waiting for another build",
                 false);
        });
    if (!lock.ok()) return lock.status();
    // The holder we waited for may have built it.
    hit = found("found in cache (built by another process)");
    if (!hit.ok()) return hit.status();
    if (*hit) return file;
    absl::Status built = Build(*recipe, *key, entry_name, entry, report,
                               cancelled);
    if (!built.ok()) {
      // A cancelled build is the caller changing its mind, not a failure.
      if (!absl::IsCancelled(built)) {
        Count(recipe->name, &Counts::build_failures);
      }
      return built;
    }
    Count(recipe->name, &Counts::builds);
    absl::StatusOr<bool> leased = Lease(entry_name, file, lease);
    if (!leased.ok()) return leased.status();
    if (!*leased) {
      return absl::UnavailableError(absl::StrCat(
          entry_name, " was pruned the moment it was built; run again"));
    }
    return file;
  }

  // With `lease`: takes a shared lock on the entry's use lock into it and
  // returns whether `file` is still there (a prune may have removed it
  // between a caller's stat and the lock). Without: true.
  absl::StatusOr<bool> Lease(const std::string& entry_name,
                             const fs::path& file, ArtifactLease* lease) {
    if (lease == nullptr) return true;
    absl::StatusOr<FileLock> use = FileLock::AcquireShared(
        EntryUseLockPath(options_.cache_dir, entry_name),
        absl::Now() + kLeaseWait);
    if (!use.ok()) return use.status();
    if (!IsRegularFile(file)) return false;
    lease->locks.push_back(*std::move(use));
    return true;
  }

  // What happened to one artifact in this process (see List()).
  struct Counts {
    uint64_t cache_hits = 0;
    uint64_t builds = 0;
    uint64_t build_failures = 0;
  };

  void Count(const std::string& name, uint64_t Counts::*field) {
    absl::MutexLock lock(&counts_mu_);
    ++(counts_[name].*field);
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
    return {"bash", (src / "initramfs/build-image.sh").string(),
            std::string(LanguageName(recipe.language)),
            (out_dir / recipe.file_name).string()};
  }

  // Builds into <cache>/tmp/ and renames the result to `entry`. Called with
  // the artifact's lock held.
  absl::Status Build(
      const Recipe& recipe, const std::string& key,
      const std::string& entry_name, const fs::path& entry,
      const std::function<void(absl::string_view, bool)>& report,
      const CancelledFn& cancelled) {
    const fs::path tmp_root = options_.cache_dir / "tmp";
    RemoveAbandonedBuilds(tmp_root, entry_name);
    absl::StatusOr<TempDir> work =
        TempDir::Create(absl::StrCat(entry_name, "."), tmp_root);
    if (!work.ok()) return work.status();
    const fs::path out_dir = work->path() / "out";
    std::error_code error;
    fs::create_directories(out_dir, error);
    if (error) {
      return absl::InternalError(absl::StrCat(
          "cannot create ", out_dir.string(), ": ", error.message()));
    }

    spdlog::info("artifact={} key={} event=build_start", recipe.name,
                 key.substr(0, 16));
    report(absl::StrCat("building (", recipe.expectation, ")"), false);
    absl::Time start = absl::Now();
    SpawnOptions options;
    options.argv = BuildCommand(recipe, out_dir);
    options.cwd = work->path();
    absl::StatusOr<CommandResult> result = RunCommand(
        options, recipe.timeout,
        [&](absl::string_view line) {
          spdlog::debug("artifact={} build_output=\"{}\"", recipe.name,
                        std::string(line));
          if (!line.empty()) report(line, false);
        },
        64 * 1024, cancelled);
    absl::Duration elapsed = absl::Now() - start;
    if (!result.ok()) {
      spdlog::warn("artifact={} event=build_stopped error=\"{}\"", recipe.name,
                   std::string(result.status().message()));
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
      spdlog::warn("artifact={} event=build_failed why=\"{}\"", recipe.name,
                   why);
      return absl::InternalError(absl::StrCat(
          "building ", recipe.name, " failed (", why, ", ",
          absl::StrJoin(options.argv, " "), "); output ends:\n",
          LastLines(result->output, kErrorTailLines)));
    }
    if (::rename(out_dir.c_str(), entry.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("cannot rename ",
                                              out_dir.string(), " to ",
                                              entry.string(), ": ",
                                              std::strerror(errno)));
    }
    spdlog::info("artifact={} key={} event=built ms={} bytes={}", recipe.name,
                 key.substr(0, 16), absl::ToInt64Milliseconds(elapsed), size);
    report(absl::StrCat("built in ", FormatElapsed(elapsed), ", ",
                        FormatSize(size)),
           false);
    return absl::OkStatus();
  }

  // Temp dirs of `entry_name` left by a builder that died: whoever holds the
  // artifact's lock owns <tmp>/<entry_name>.*, so with the lock held any such
  // dir is abandoned.
  static void RemoveAbandonedBuilds(const fs::path& tmp_root,
                                    const std::string& entry_name) {
    std::error_code error;
    for (const auto& dir : fs::directory_iterator(tmp_root, error)) {
      if (absl::StartsWith(dir.path().filename().string(),
                           absl::StrCat(entry_name, "."))) {
        spdlog::info("artifact_tmp={} event=remove_abandoned",
                     dir.path().string());
        fs::remove_all(dir.path(), error);
      }
    }
  }

  ArtifactCacheOptions options_;
  mutable InputHasher hasher_;
  mutable absl::Mutex counts_mu_;
  std::map<std::string, Counts> counts_ ABSL_GUARDED_BY(counts_mu_);
};

}  // namespace

std::string FormatSize(uintmax_t bytes) {
  if (bytes >= 1000 * 1000) return absl::StrFormat("%.1f MB", bytes / 1e6);
  return absl::StrFormat("%.1f kB", bytes / 1e3);
}

std::vector<std::string> AllArtifactNames() {
  std::vector<std::string> names = {"kernel", "initramfs"};
  for (v1::Language language : kLanguages) {
    names.push_back(ImageArtifactName(language));
  }
  return names;
}

std::string ImageArtifactName(v1::Language language) {
  return absl::StrCat("image/", LanguageName(language));
}

std::string ArtifactEntryPrefix(absl::string_view name) {
  std::optional<Recipe> recipe = FindRecipe(name);
  return recipe ? recipe->entry_prefix : "";
}

std::string ArtifactEntryName(absl::string_view name, absl::string_view key) {
  std::string prefix = ArtifactEntryPrefix(name);
  if (prefix.empty()) return "";
  return absl::StrCat(prefix, "-", key.substr(0, 16));
}

fs::path EntryBuildLockPath(const fs::path& cache_dir,
                            absl::string_view entry) {
  return cache_dir / "locks" / absl::StrCat(entry, ".lock");
}

fs::path EntryUseLockPath(const fs::path& cache_dir, absl::string_view entry) {
  return cache_dir / "locks" / absl::StrCat(entry, ".use");
}

fs::path ArtifactCache::DefaultCacheDir() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
  };
  if (std::string dir = env("CLOUDLET_CACHE_DIR"); !dir.empty()) return dir;
  if (std::string dir = env("XDG_CACHE_HOME"); !dir.empty()) {
    return fs::path(dir) / "cloudlet";
  }
  if (std::string home = env("HOME"); !home.empty()) {
    return fs::path(home) / ".cache" / "cloudlet";
  }
  return fs::temp_directory_path() / absl::StrCat("cloudlet-cache-", ::getuid());
}

absl::StatusOr<std::unique_ptr<ArtifactCache>> ArtifactCache::Open(
    ArtifactCacheOptions options) {
  if (options.cache_dir.empty()) options.cache_dir = DefaultCacheDir();
  std::error_code error;
  options.cache_dir = fs::absolute(options.cache_dir, error);
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
  for (const fs::path& dir :
       {options.cache_dir, options.cache_dir / "tmp",
        options.cache_dir / "locks"}) {
    fs::create_directories(dir, error);
    if (error) {
      return absl::InternalError(absl::StrCat(
          "cannot create cache dir ", dir.string(), ": ", error.message()));
    }
  }
  return std::make_unique<ArtifactCacheImpl>(std::move(options));
}

}  // namespace cloudlet::vmm
