#include "common/utf8.h"

namespace cloudlet {

bool IsValidUtf8(absl::string_view text, size_t* bad_offset) {
  size_t i = 0;
  auto fail = [&] {
    if (bad_offset != nullptr) *bad_offset = i;
    return false;
  };
  while (i < text.size()) {
    unsigned char lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    unsigned char min = 0x80, max = 0xbf;  // range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) min = 0xa0;  // overlong
      if (lead == 0xed) max = 0x9f;  // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) min = 0x90;  // overlong
      if (lead == 0xf4) max = 0x8f;  // above U+10FFFF
    } else {
      return fail();  // a continuation byte, or 0xc0, 0xc1, 0xf5..0xff
    }
    if (text.size() - i < length) return fail();
    for (size_t k = 1; k < length; ++k) {
      unsigned char byte = static_cast<unsigned char>(text[i + k]);
      unsigned char low = k == 1 ? min : 0x80, high = k == 1 ? max : 0xbf;
      if (byte < low || byte > high) return fail();
    }
    i += length;
  }
  return true;
}

}  // namespace cloudlet
