#include "common/rpc/port_file.h"

#include <fstream>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace cloudlet {

absl::Status WritePortFile(const std::filesystem::path& path, int port) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << port << "\n";
    if (!file.flush()) {
      return absl::InternalError(
          absl::StrCat("cannot write ", temporary.string()));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary, error);
    return absl::InternalError(absl::StrCat(
        "cannot rename ", temporary.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace cloudlet
