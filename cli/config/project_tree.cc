#include "cli/config/project_tree.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/read_file.h"
#include "common/run_limits.h"

namespace cloudlet::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kIgnoreFile[] = ".cloudletignore";
// Folder symlinks followed inside one another at most this deep (a loop
// of links inside the folder ends here).
constexpr int kMaxDepth = 32;

struct IgnorePattern {
  std::string glob;
  bool anchored = false;  // matched against the whole relative path
  bool folders_only = false;
};

std::vector<IgnorePattern> ParseIgnoreFile(const std::string& text) {
  std::vector<IgnorePattern> patterns;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    IgnorePattern pattern;
    if (absl::ConsumeSuffix(&line, "/")) pattern.folders_only = true;
    if (absl::ConsumePrefix(&line, "/")) pattern.anchored = true;
    if (absl::StrContains(line, "/")) pattern.anchored = true;
    if (line.empty()) continue;
    pattern.glob = std::string(line);
    patterns.push_back(std::move(pattern));
  }
  return patterns;
}

class TreeReader {
 public:
  TreeReader(fs::path root, uint64_t max_bytes)
      : root_(std::move(root)), max_bytes_(max_bytes) {}

  absl::StatusOr<std::vector<v1::File>> Read() {
    std::error_code error;
    canonical_root_ = fs::canonical(root_, error);
    if (error) return Error(root_.string(), error.message());
    absl::StatusOr<std::string> ignore =
        ReadFileUpTo(root_ / kIgnoreFile, 1 << 20);
    if (ignore.ok()) {
      patterns_ = ParseIgnoreFile(*ignore);
    } else if (!absl::IsNotFound(ignore.status())) {
      return ignore.status();
    }
    if (absl::Status s = Walk(root_, "", 0); !s.ok()) return s;
    std::sort(files_.begin(), files_.end(),
              [](const v1::File& a, const v1::File& b) {
                return a.path() < b.path();
              });
    return std::move(files_);
  }

 private:
  absl::Status Error(absl::string_view path, absl::string_view why) const {
    return absl::InvalidArgumentError(
        absl::StrCat("project ", root_.string(), ": ", path, ": ", why));
  }

  bool Ignored(const std::string& relative, bool folder) const {
    if (relative == ".git" || absl::EndsWith(relative, "/.git")) return true;
    const std::string name = fs::path(relative).filename().string();
    for (const IgnorePattern& pattern : patterns_) {
      if (pattern.folders_only && !folder) continue;
      const std::string& subject = pattern.anchored ? relative : name;
      if (::fnmatch(pattern.glob.c_str(), subject.c_str(),
                    pattern.anchored ? FNM_PATHNAME : 0) == 0) {
        return true;
      }
    }
    return false;
  }

  // Reads the folder `dir`, whose path relative to the root is `prefix`.
  absl::Status Walk(const fs::path& dir, const std::string& prefix,
                    int depth) {
    if (depth > kMaxDepth) {
      return Error(prefix, absl::StrCat("folders nest over ", kMaxDepth,
                                        " deep (a symlink loop?)"));
    }
    std::error_code error;
    std::vector<fs::directory_entry> entries;
    for (auto it = fs::directory_iterator(dir, error);
         !error && it != fs::directory_iterator(); it.increment(error)) {
      entries.push_back(*it);
    }
    if (error) return Error(prefix.empty() ? "." : prefix, error.message());
    for (const fs::directory_entry& entry : entries) {
      const std::string name = entry.path().filename().string();
      const std::string relative =
          prefix.empty() ? name : absl::StrCat(prefix, "/", name);
      if (absl::Status s = Visit(entry.path(), relative, depth); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Visit(const fs::path& path, const std::string& relative,
                     int depth) {
    struct stat st;
    const bool readable = ::stat(path.c_str(), &st) == 0;  // follows links
    const bool folder = readable && S_ISDIR(st.st_mode);
    if (Ignored(relative, folder)) return absl::OkStatus();
    std::error_code error;
    if (fs::is_symlink(fs::symlink_status(path, error))) {
      fs::path target = fs::canonical(path, error);
      if (error || !readable) {
        return Error(relative, "is a symlink that leads nowhere");
      }
      auto [root_end, unused] = std::mismatch(
          canonical_root_.begin(), canonical_root_.end(), target.begin(),
          target.end());
      if (root_end != canonical_root_.end()) {
        return Error(relative,
                     absl::StrCat("is a symlink to ", target.string(),
                                  ", outside the folder; copy what it "
                                  "points to into the folder"));
      }
    }
    if (!readable) return Error(relative, "cannot be read");
    if (folder) return Walk(path, relative, depth + 1);
    if (!S_ISREG(st.st_mode)) {
      return Error(relative,
                   "is neither a file nor a folder; leave it out with "
                   ".cloudletignore");
    }
    if (files_.size() >= kMaxSourceFiles) {
      return Error(relative, absl::StrCat("the folder has over ",
                                          kMaxSourceFiles,
                                          " files, the limit; leave some out "
                                          "with .cloudletignore"));
    }
    bytes_ += relative.size() + static_cast<uint64_t>(st.st_size);
    if (bytes_ > max_bytes_) {
      return Error(relative,
                   absl::StrCat("the folder's files pass the limit of ",
                                max_bytes_,
                                " bytes here; leave some out with "
                                ".cloudletignore (build outputs, data)"));
    }
    absl::StatusOr<std::string> content =
        ReadFileUpTo(path, static_cast<uint64_t>(st.st_size));
    if (!content.ok()) return Error(relative, content.status().message());
    v1::File& file = files_.emplace_back();
    file.set_path(relative);
    file.set_content(*std::move(content));
    file.set_executable((st.st_mode & S_IXUSR) != 0);
    return absl::OkStatus();
  }

  const fs::path root_;
  const uint64_t max_bytes_;
  fs::path canonical_root_;
  std::vector<IgnorePattern> patterns_;
  std::vector<v1::File> files_;
  uint64_t bytes_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<v1::File>> ReadProjectTree(
    const std::filesystem::path& root, uint64_t max_bytes) {
  return TreeReader(root, max_bytes).Read();
}

}  // namespace cloudlet::cli
