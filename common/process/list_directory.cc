#include "common/process/list_directory.h"

#include <dirent.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace cloudlet {

absl::StatusOr<std::vector<std::string>> ListDirectory(
    const std::filesystem::path& dir) {
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) {
    return absl::InternalError(absl::StrCat("cannot read ", dir.string(), ": ",
                                            std::strerror(errno)));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(stream)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int error = errno;
  ::closedir(stream);
  if (error != 0) {
    return absl::InternalError(absl::StrCat("cannot read ", dir.string(), ": ",
                                            std::strerror(error)));
  }
  return names;
}

}  // namespace cloudlet
