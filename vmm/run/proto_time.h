#ifndef CLOUDLET_VMM_RUN_PROTO_TIME_H_
#define CLOUDLET_VMM_RUN_PROTO_TIME_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace cloudlet::vmm {

// google.protobuf.Duration <-> absl::Duration (exact to the nanosecond;
// values beyond the proto's range saturate).
absl::Duration FromProtoDuration(const google::protobuf::Duration& duration);
google::protobuf::Duration ToProtoDuration(absl::Duration duration);

// absl::Time -> google.protobuf.Timestamp (to the nanosecond).
google::protobuf::Timestamp ToProtoTimestamp(absl::Time time);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_RUN_PROTO_TIME_H_
