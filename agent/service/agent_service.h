#ifndef CLOUDLET_AGENT_SERVICE_AGENT_SERVICE_H_
#define CLOUDLET_AGENT_SERVICE_AGENT_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "agent.grpc.pb.h"
#include "agent/execution/executor.h"
#include "agent/service/run_registry.h"

namespace cloudlet::agent {

// The gRPC adapter of WorkloadRunner: requests in, Executor and
// RunRegistry calls, events out. Each Execute runs on the gRPC thread that
// called it. Thread-safe; `executor` and `registry` must outlive it.
// With `accept_host_state`, an ExecuteRequest's host_time and host_entropy
// are applied to the machine the agent runs on (a guest's agent only).
class AgentService final : public v1::WorkloadRunner::Service {
 public:
  AgentService(const Executor& executor, RunRegistry& registry,
               bool accept_host_state)
      : executor_(executor),
        registry_(registry),
        accept_host_state_(accept_host_state) {}

  grpc::Status Execute(grpc::ServerContext* context,
                       const v1::ExecuteRequest* request,
                       grpc::ServerWriter<v1::ExecuteEvent>* writer) override;
  grpc::Status Signal(grpc::ServerContext* context,
                      const v1::SignalRequest* request,
                      v1::SignalResponse* response) override;
  grpc::Status Health(grpc::ServerContext* context,
                      const v1::AgentHealthRequest* request,
                      v1::AgentHealthResponse* response) override;

 private:
  const Executor& executor_;
  RunRegistry& registry_;
  const bool accept_host_state_;
};

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_SERVICE_AGENT_SERVICE_H_
