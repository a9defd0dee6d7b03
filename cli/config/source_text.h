#ifndef CLOUDLET_CLI_CONFIG_SOURCE_TEXT_H_
#define CLOUDLET_CLI_CONFIG_SOURCE_TEXT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/run_limits.h"

namespace cloudlet::cli {

// The largest source file the CLI sends: the VMM's default
// --max_code_bytes, so a larger file would be refused by a default server
// anyway. Checked before the file is read.
inline constexpr uint64_t kMaxSourceBytes = kMaxCodeBytes;

// Every language Cloudlet runs takes its source as text. OK when `content`
// is non-empty UTF-8 without NUL bytes; otherwise InvalidArgument whose
// message names `name` and says what is wrong and where, e.g.
// "main.py is not UTF-8 text (line 3, byte 0xff)".
absl::Status CheckSourceText(absl::string_view name, absl::string_view content);

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_CONFIG_SOURCE_TEXT_H_
