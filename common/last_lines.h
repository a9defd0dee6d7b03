#ifndef CLOUDLET_COMMON_LAST_LINES_H_
#define CLOUDLET_COMMON_LAST_LINES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace cloudlet {

// The last `count` non-empty lines of `text`, joined by '\n' (no newline
// after the last): the end of a build's or a console's output for an error
// message.
inline std::string LastLines(absl::string_view text, size_t count) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - count);
  return absl::StrJoin(lines, "\n");
}

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_LAST_LINES_H_
