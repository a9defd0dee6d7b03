#include "common/process/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cloudlet {

absl::StatusOr<TempDir> TempDir::Create(absl::string_view prefix,
                                        std::filesystem::path parent) {
  if (parent.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    parent = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  }
  std::string pattern = (parent / absl::StrCat(prefix, "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat(
        "cannot create a temporary directory in ", parent.string(), ": ",
        std::strerror(errno)));
  }
  return TempDir(std::filesystem::path(pattern));
}

TempDir::TempDir(TempDir&& other) noexcept : path_(other.Release()) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = other.Release();
  }
  return *this;
}

TempDir::~TempDir() { Remove(); }

std::filesystem::path TempDir::Release() { return std::exchange(path_, {}); }

void TempDir::Remove() {
  if (path_.empty()) return;
  std::error_code ignored;  // Best effort: nothing useful to do on failure.
  std::filesystem::remove_all(path_, ignored);
  path_.clear();
}

}  // namespace cloudlet
