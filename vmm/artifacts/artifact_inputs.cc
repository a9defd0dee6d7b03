#include "vmm/artifacts/artifact_inputs.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/process/subprocess.h"

namespace cloudlet::vmm {
namespace {

// Streams a file through SHA-256.
absl::StatusOr<std::string> HashFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path.string(), ": ", std::strerror(errno)));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) {
    return absl::InternalError(absl::StrCat("error reading ", path.string()));
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), length));
}

std::string ReadHead(const std::filesystem::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string data(max_bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(max_bytes));
  data.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return data;
}

}  // namespace

std::string Sha256Hex(absl::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(),
             nullptr);
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), length));
}

absl::StatusOr<std::string> InputHasher::FileDigest(
    const std::filesystem::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat(path.string(), ": ", std::strerror(errno)));
  }
  FileId id{static_cast<uintmax_t>(st.st_size),
            st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
            static_cast<uint64_t>(st.st_ino)};
  {
    absl::MutexLock lock(&mutex_);
    auto it = files_.find(path.string());
    if (it != files_.end() && it->second.id == id) return it->second.sha256;
  }
  // Hashed outside the lock: the agent binary takes tens of milliseconds.
  absl::StatusOr<std::string> digest = HashFile(path);
  if (!digest.ok()) return digest.status();
  absl::MutexLock lock(&mutex_);
  files_[path.string()] = Digest{id, *digest};
  return *digest;
}

absl::StatusOr<std::string> InputHasher::LinuxSourceVersion() {
  absl::MutexLock lock(&mutex_);
  if (!linux_version_) {
    SpawnOptions options;
    options.argv = {"dpkg-query", "-W", "-f=${Version}", "linux-source-6.1"};
    absl::StatusOr<CommandResult> result =
        RunCommand(options, absl::Seconds(30));
    if (!result.ok()) {
      linux_version_ = result.status();
    } else if (!result->status.success() || result->output.empty()) {
      linux_version_ = absl::FailedPreconditionError(
          "the Debian package linux-source-6.1 is not installed "
          "(apt-get install linux-source-6.1)");
    } else {
      linux_version_ =
          std::string(absl::StripAsciiWhitespace(result->output));
    }
  }
  return *linux_version_;
}

std::string InputHasher::AptState() {
  absl::MutexLock lock(&mutex_);
  if (apt_state_) return *apt_state_;
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const char* dir : {"/etc/apt/sources.list.d", "/var/lib/apt/lists"}) {
    for (const auto& entry :
         std::filesystem::directory_iterator(dir, error)) {
      files.push_back(entry.path());
    }
  }
  files.emplace_back("/etc/apt/sources.list");
  std::sort(files.begin(), files.end());
  std::string state;
  for (const std::filesystem::path& file : files) {
    std::string name = file.filename().string();
    if (absl::StartsWith(file.string(), "/etc/apt/")) {
      if (std::filesystem::is_regular_file(file, error)) {
        absl::StrAppend(&state, file.string(), "\n", ReadHead(file, 1 << 16));
      }
    } else if (absl::EndsWith(name, "Release")) {  // InRelease and Release
      // The Date field sits in the first lines of the index.
      for (absl::string_view line :
           absl::StrSplit(ReadHead(file, 4096), '\n')) {
        if (absl::StartsWith(line, "Date:")) {
          absl::StrAppend(&state, name, " ", line, "\n");
          break;
        }
      }
    }
  }
  apt_state_ = Sha256Hex(state);
  return *apt_state_;
}

}  // namespace cloudlet::vmm
