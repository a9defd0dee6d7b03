#ifndef CLOUDLET_COMMON_PROCESS_TEMP_DIR_H_
#define CLOUDLET_COMMON_PROCESS_TEMP_DIR_H_

#include <filesystem>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"

namespace cloudlet {

// A directory created empty and removed, with everything in it, when the
// object is destroyed. Move-only.
class TempDir {
 public:
  // Creates `<parent>/<prefix>XXXXXX` (parent defaults to $TMPDIR or /tmp).
  static absl::StatusOr<TempDir> Create(absl::string_view prefix,
                                        std::filesystem::path parent = {});

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }

  // Keeps the directory: the destructor will not remove it.
  std::filesystem::path Release();

 private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  void Remove();

  std::filesystem::path path_;
};

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_PROCESS_TEMP_DIR_H_
