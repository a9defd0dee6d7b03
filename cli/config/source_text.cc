#include "cli/config/source_text.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"

namespace cloudlet::cli {
namespace {

// The 1-based line of `offset` in `text`.
size_t LineOf(absl::string_view text, size_t offset) {
  return 1 + static_cast<size_t>(std::count(text.begin(),
                                            text.begin() + offset, '\n'));
}

}  // namespace

absl::Status CheckSourceText(absl::string_view name,
                             absl::string_view content) {
  if (content.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is empty; give the program's source"));
  }
  size_t nul = content.find('\0');
  size_t bad = 0;
  bool utf8 = IsValidUtf8(content, &bad);
  if (nul != absl::string_view::npos || !utf8) {
    size_t at = utf8 ? nul : std::min(nul, bad);
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is not UTF-8 text (line %d, byte 0x%02x); every language takes "
        "its source as text",
        name, LineOf(content, at), static_cast<unsigned char>(content[at])));
  }
  return absl::OkStatus();
}

}  // namespace cloudlet::cli
