#ifndef CLOUDLET_COMMON_RPC_GRPC_STATUS_H_
#define CLOUDLET_COMMON_RPC_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace cloudlet {

// absl::Status <-> grpc::Status, code and message unchanged (the two code
// sets are the same numbers).
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_RPC_GRPC_STATUS_H_
