#include "api/http/bearer_auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/read_file.h"

namespace cloudlet::api {
namespace {

constexpr size_t kMinTokenLength = 16;

// Compares all of max(a, b) bytes whatever they hold.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    difference |= static_cast<unsigned char>(x ^ y);
  }
  return difference == 0;
}

}  // namespace

absl::StatusOr<std::string> ReadAuthToken(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileUpTo(path, 4096);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth_token_file=", path, ": ", text.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.size() < kMinTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth_token_file=", path, ": the token has ", token.size(),
        " characters; use at least ", kMinTokenLength,
        " (e.g. `openssl rand -hex 32`)"));
  }
  return token;
}

absl::Status CheckBearer(absl::string_view authorization,
                         absl::string_view token) {
  constexpr absl::string_view kScheme = "Bearer ";
  if (!absl::StartsWithIgnoreCase(authorization, kScheme)) {
    return absl::UnauthenticatedError(
        "this API needs a token: send \"Authorization: Bearer <token>\" "
        "(the CLI sends $CLOUDLET_TOKEN)");
  }
  if (!ConstantTimeEquals(authorization.substr(kScheme.size()), token)) {
    return absl::UnauthenticatedError("the bearer token is not this API's");
  }
  return absl::OkStatus();
}

}  // namespace cloudlet::api
