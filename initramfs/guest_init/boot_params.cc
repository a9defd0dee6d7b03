#include "initramfs/guest_init/boot_params.h"

#include <cstdint>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cloudlet::guest_init {
namespace {

bool IsLowerCaseWord(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status Malformed(absl::string_view name, absl::string_view value,
                       absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(name, " must be ", expected, ", got '", value, "'"));
}

}  // namespace

absl::StatusOr<BootParams> ParseBootParams(absl::string_view cmdline) {
  BootParams params;
  for (absl::string_view word :
       absl::StrSplit(cmdline, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(word, absl::MaxSplits('=', 1));
    if (parts.size() != 2) continue;
    absl::string_view name = parts[0];
    absl::string_view value = parts[1];
    if (name == "cloudlet.port") {
      uint32_t port = 0;
      // At most 5 digits: SimpleAtoi also takes a sign and spaces.
      if (value.empty() || value.size() > 5 ||
          !absl::c_all_of(value, absl::ascii_isdigit) ||
          !absl::SimpleAtoi(value, &port) || port < 1 || port > 65535) {
        return Malformed(name, value, "in 1..65535");
      }
      params.port = static_cast<uint16_t>(port);
    } else if (name == "cloudlet.log") {
      if (!IsLowerCaseWord(value)) {
        return Malformed(name, value, "a lower-case word");
      }
      params.log_level = std::string(value);
    } else if (name == "cloudlet.mode") {
      if (value == "agent") {
        params.mode = BootParams::Mode::kAgent;
      } else if (value == "poweroff") {
        params.mode = BootParams::Mode::kPoweroff;
      } else {
        return Malformed(name, value, "agent or poweroff");
      }
    }
  }
  return params;
}

}  // namespace cloudlet::guest_init
