#include "vmm/service/vmm_service.h"

#include <utility>

#include "common/rpc/grpc_status.h"
#include "vmm/run/proto_time.h"

namespace cloudlet::vmm {
namespace {

class WriterSink : public RunEventSink {
 public:
  explicit WriterSink(grpc::ServerWriter<v1::RunEvent>* writer)
      : writer_(writer) {}
  bool Send(const v1::RunEvent& event) override {
    return writer_->Write(event);
  }

 private:
  grpc::ServerWriter<v1::RunEvent>* writer_;
};

}  // namespace

VmmService::VmmService(Runner* runner, VmmServiceHooks hooks)
    : runner_(runner), hooks_(std::move(hooks)) {}

grpc::Status VmmService::Run(grpc::ServerContext* context,
                             const v1::RunRequest* request,
                             grpc::ServerWriter<v1::RunEvent>* writer) {
  WriterSink sink(writer);
  return ToGrpcStatus(runner_->Run(
      *request, sink,
      CancelToken::FromProbe([context] { return context->IsCancelled(); })));
}

grpc::Status VmmService::Shutdown(grpc::ServerContext* context,
                                  const v1::ShutdownRequest* request,
                                  v1::ShutdownResponse* response) {
  response->set_running_runs(
      hooks_.request_shutdown(FromProtoDuration(request->grace())));
  return grpc::Status::OK;
}

grpc::Status VmmService::Health(grpc::ServerContext* context,
                                const v1::VmmHealthRequest* request,
                                v1::VmmHealthResponse* response) {
  *response = hooks_.health();
  return grpc::Status::OK;
}

}  // namespace cloudlet::vmm
