#ifndef CLOUDLET_COMMON_UTF8_H_
#define CLOUDLET_COMMON_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace cloudlet {

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). On failure, `*bad_offset` (if given)
// is the offset of the first byte of the first malformed sequence.
bool IsValidUtf8(absl::string_view text, size_t* bad_offset = nullptr);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_UTF8_H_
