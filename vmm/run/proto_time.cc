#include "vmm/run/proto_time.h"

#include <cstdint>

namespace cloudlet::vmm {

absl::Duration FromProtoDuration(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

google::protobuf::Duration ToProtoDuration(absl::Duration duration) {
  // The proto's range is about ±10000 years.
  constexpr int64_t kMaxSeconds = 315'576'000'000;
  google::protobuf::Duration out;
  if (duration >= absl::Seconds(kMaxSeconds)) {
    out.set_seconds(kMaxSeconds);
    return out;
  }
  if (duration <= absl::Seconds(-kMaxSeconds)) {
    out.set_seconds(-kMaxSeconds);
    return out;
  }
  absl::Duration remainder;
  int64_t seconds = absl::IDivDuration(duration, absl::Seconds(1), &remainder);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(remainder)));
  return out;
}

google::protobuf::Timestamp ToProtoTimestamp(absl::Time time) {
  absl::Duration since_epoch = time - absl::UnixEpoch();
  absl::Duration remainder;
  int64_t seconds =
      absl::IDivDuration(since_epoch, absl::Seconds(1), &remainder);
  if (remainder < absl::ZeroDuration()) {  // nanos must be >= 0
    --seconds;
    remainder += absl::Seconds(1);
  }
  google::protobuf::Timestamp out;
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(remainder)));
  return out;
}

}  // namespace cloudlet::vmm
