#include "common/ids.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"

namespace cloudlet {

std::string NewRunId() {
  thread_local absl::BitGen bit_gen;
  uint64_t value = absl::Uniform<uint64_t>(bit_gen) & 0xffffffffffffULL;
  return absl::StrFormat("%012x", value);
}

}  // namespace cloudlet
