#include "common/read_file.h"

#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace cloudlet {

absl::StatusOr<std::string> ReadFileUpTo(const std::filesystem::path& path,
                                         uint64_t max_bytes) {
  std::error_code error;
  uintmax_t size = std::filesystem::file_size(path, error);
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path.string(), ": ", error.message()));
  }
  if (size > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        path.string(), " is ", size, " bytes, over the limit of ", max_bytes));
  }
  std::ifstream file(path, std::ios::binary);
  std::string content(size, '\0');
  file.read(content.data(), static_cast<std::streamsize>(size));
  if (!file) {
    return absl::InternalError(absl::StrCat("cannot read ", path.string()));
  }
  return content;
}

}  // namespace cloudlet
