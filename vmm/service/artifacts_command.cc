#include "vmm/service/artifacts_command.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/process/termination_signal.h"
#include "common/workload_names.h"
#include "vmm/service/cache_prune.h"

namespace cloudlet::vmm {
namespace {

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "cloudlet-vmm artifacts: %s\n",
               std::string(message).c_str());
}

// "python" -> "image/python"; artifact names pass unchanged.
absl::StatusOr<std::string> ArtifactName(const std::string& word) {
  for (const std::string& name : AllArtifactNames()) {
    if (word == name) return name;
  }
  if (absl::StatusOr<v1::Language> language = ParseLanguage(word);
      language.ok()) {
    return ImageArtifactName(*language);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown artifact '", word, "'; expected one of ",
      absl::StrJoin(AllArtifactNames(), ", "), " or a language (",
      LanguageNameList(), ")"));
}

int List(const ArtifactCache& cache) {
  std::printf("%-16s %-6s %-16s %s\n", "NAME", "CACHED", "KEY", "SIZE");
  for (const v1::ArtifactState& state : cache.List()) {
    std::printf("%-16s %-6s %-16s %s\n", state.name().c_str(),
                state.cached() ? "yes" : "no",
                state.key().empty() ? "?" : state.key().substr(0, 16).c_str(),
                state.cached() ? FormatSize(state.size_bytes()).c_str() : "-");
  }
  std::printf("cache: %s\n", cache.store()->dir().c_str());
  return 0;
}

int Build(ArtifactCache& cache, std::vector<std::string> names) {
  // The kernel (minutes of CPU) builds in its own lane beside the rest.
  std::vector<std::vector<std::string>> lanes(2);
  for (std::string& name : names) {
    lanes[name == "kernel" ? 0 : 1].push_back(std::move(name));
  }

  // SIGINT/SIGTERM (blocked by main) stop the builds; the watcher is left
  // waiting when the builds end first, and dies with the process.
  auto interrupted = std::make_shared<std::atomic<bool>>(false);
  std::thread([interrupted] {
    int signal = WaitForTerminationSignal();
    std::fprintf(stderr, "cloudlet-vmm artifacts: signal %d, stopping\n",
                 signal);
    interrupted->store(true);
  }).detach();

  absl::Mutex mutex;
  std::vector<std::string> failures;
  auto run_lane = [&](const std::vector<std::string>& lane) {
    for (const std::string& name : lane) {
      absl::StatusOr<std::filesystem::path> file = cache.EnsureArtifact(
          name,
          [&](const v1::Progress& progress) {
            absl::MutexLock lock(&mutex);
            std::fprintf(stderr, "[%s] %s\n", progress.artifact().c_str(),
                         progress.message().c_str());
          },
          CancelToken::FromProbe([&] { return interrupted->load(); }));
      absl::MutexLock lock(&mutex);
      if (!file.ok()) {
        failures.push_back(absl::StrCat(name, ": ", file.status().message()));
      } else {
        std::fprintf(stderr, "[%s] ready: %s\n", name.c_str(),
                     file->c_str());
      }
    }
  };
  // Builds run on these threads: each lives until its builds end, as
  // PR_SET_PDEATHSIG of the build scripts requires.
  std::vector<std::thread> threads;
  for (const auto& lane : lanes) {
    if (!lane.empty()) threads.emplace_back(run_lane, lane);
  }
  for (std::thread& thread : threads) thread.join();
  if (!failures.empty()) {
    for (const std::string& failure : failures) PrintError(failure);
    return 1;
  }
  return 0;
}

int Prune(const ArtifactCache& cache, bool dry_run, uint64_t max_bytes) {
  absl::StatusOr<CachePruneReport> report =
      PruneCache(cache, dry_run, max_bytes);
  if (!report.ok()) {
    PrintError(report.status().message());
    return 1;
  }
  const char* verb = dry_run ? "would remove" : "removed";
  for (const PruneReport::Removed& entry : report->removed) {
    std::printf("%s %-40s %s%s\n", verb, entry.name.c_str(),
                FormatSize(entry.bytes).c_str(),
                entry.stale ? "" : " (least recently used, over the cap)");
  }
  for (const std::string& error : report->errors) {
    std::printf("could not remove %s\n", error.c_str());
  }
  for (const std::string& entry : report->in_use) {
    std::printf("kept %s: a VM is using it\n", entry.c_str());
  }
  for (const std::string& name : report->undetermined) {
    std::printf("kept every %s entry: its current inputs cannot be hashed\n",
                name.c_str());
  }
  size_t count = report->removed.size();
  std::printf("%s %s (%zu %s); cache: %s\n", dry_run ? "would free" : "freed",
              FormatSize(report->removed_bytes).c_str(), count,
              count == 1 ? "entry" : "entries", cache.store()->dir().c_str());
  return 0;
}

}  // namespace

int RunArtifactsCommand(const std::vector<std::string>& args,
                        const ArtifactCacheOptions& options, bool dry_run,
                        uint64_t max_bytes) {
  const char* usage =
      "usage: cloudlet-vmm artifacts build [kernel|initramfs|LANGUAGE...] | "
      "list | prune [--dry-run]";
  if (args.empty() ||
      (args[0] != "build" && args[0] != "list" && args[0] != "prune")) {
    PrintError(usage);
    return 2;
  }
  if (args[0] != "build" && args.size() > 1) {
    PrintError(usage);
    return 2;
  }
  if (dry_run && args[0] != "prune") {
    PrintError("--dry-run goes with `artifacts prune` only");
    return 2;
  }
  std::vector<std::string> names;
  // Only build takes names (the others were refused above with any).
  for (size_t i = 1; i < args.size(); ++i) {
    absl::StatusOr<std::string> name = ArtifactName(args[i]);
    if (!name.ok()) {
      PrintError(name.status().message());
      return 2;
    }
    names.push_back(*name);
  }
  if (args[0] == "build" && names.empty()) names = AllArtifactNames();

  absl::StatusOr<std::unique_ptr<ArtifactCache>> cache =
      ArtifactCache::Open(options);
  if (!cache.ok()) {
    PrintError(cache.status().message());
    return 2;
  }
  if (args[0] == "list") return List(**cache);
  if (args[0] == "prune") return Prune(**cache, dry_run, max_bytes);
  return Build(**cache, std::move(names));
}

}  // namespace cloudlet::vmm
