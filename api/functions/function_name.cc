#include "api/functions/function_name.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace cloudlet::api {

absl::Status ValidateFunctionName(absl::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "the function name is empty: give 1-63 of a-z, 0-9 and '-'");
  }
  if (name.size() > kMaxFunctionNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the function name is ", name.size(), " characters, over the limit of ",
        kMaxFunctionNameLength));
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the function name \"", absl::CHexEscape(name),
          "\" may only contain a-z, 0-9 and '-'"));
    }
  }
  if (name.front() == '-' || name.back() == '-') {
    return absl::InvalidArgumentError(absl::StrCat(
        "the function name \"", name, "\" must not start or end with '-'"));
  }
  return absl::OkStatus();
}

}  // namespace cloudlet::api
