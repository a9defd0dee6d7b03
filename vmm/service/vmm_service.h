#ifndef CLOUDLET_VMM_SERVICE_VMM_SERVICE_H_
#define CLOUDLET_VMM_SERVICE_VMM_SERVICE_H_

#include <cstdint>
#include <functional>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "vmm.grpc.pb.h"
#include "vmm/run/runner.h"

namespace cloudlet::vmm {

// What the service needs from the server that hosts it.
struct VmmServiceHooks {
  // Answers a Health call.
  std::function<v1::VmmHealthResponse()> health;
  // Starts a shutdown with `grace` (zero: the server's default) without
  // waiting for it; returns the number of runs in flight.
  std::function<uint32_t(absl::Duration grace)> request_shutdown;
};

// The gRPC face of the VMM: proto in, Runner / hooks, proto out. Each Run
// call runs on its own gRPC thread, which also owns the run's VM.
class VmmService final : public v1::VmmService::Service {
 public:
  VmmService(Runner* runner, VmmServiceHooks hooks);

  grpc::Status Run(grpc::ServerContext* context,
                   const v1::RunRequest* request,
                   grpc::ServerWriter<v1::RunEvent>* writer) override;
  grpc::Status Shutdown(grpc::ServerContext* context,
                        const v1::ShutdownRequest* request,
                        v1::ShutdownResponse* response) override;
  grpc::Status Health(grpc::ServerContext* context,
                      const v1::VmmHealthRequest* request,
                      v1::VmmHealthResponse* response) override;

 private:
  Runner* const runner_;
  const VmmServiceHooks hooks_;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_SERVICE_VMM_SERVICE_H_
