#include "api/vmm_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/grpc_status.h"

namespace cloudlet::api {
namespace {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  // Reconnect quickly when the VMM (re)starts after the API: the default
  // backoff (1 s growing to 120 s) would keep answering 503 long after it
  // is back.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(
      target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

RunStream::~RunStream() {
  Cancel();
  if (reader_.joinable()) reader_.join();
}

RunStream::Next RunStream::WaitForNext(absl::Duration timeout,
                                       v1::RunEvent* event) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (events_.empty() && !final_status_.has_value() &&
         !changed_.WaitWithDeadline(&mu_, deadline)) {
  }
  if (!events_.empty()) {
    *event = std::move(events_.front());
    events_.pop_front();
    return Next::kEvent;
  }
  return final_status_.has_value() ? Next::kFinished : Next::kTimedOut;
}

absl::Status RunStream::status() const {
  absl::MutexLock lock(&mu_);
  return final_status_.value_or(
      absl::FailedPreconditionError("the Run call has not finished"));
}

void RunStream::Cancel() { context_.TryCancel(); }

void RunStream::ReadAll(
    std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader) {
  v1::RunEvent event;
  while (reader->Read(&event)) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
    changed_.Signal();
    event.Clear();
  }
  absl::Status status = FromGrpcStatus(reader->Finish());
  absl::MutexLock lock(&mu_);
  final_status_ = std::move(status);
  changed_.SignalAll();
}

VmmClient::VmmClient(VmmClientOptions options)
    : options_(std::move(options)),
      channel_(MakeChannel(options_.target)),
      stub_(v1::VmmService::NewStub(channel_)) {}

absl::Status VmmClient::WaitUntilReachable() {
  return WaitUntilReachable(options_.connect_timeout);
}

absl::Status VmmClient::WaitUntilReachable(absl::Duration timeout) {
  if (channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "the VMM at ", options_.target, " did not answer within ",
      absl::FormatDuration(timeout), "; is cloudlet-vmm running?"));
}

absl::StatusOr<v1::VmmHealthResponse> VmmClient::Health() {
  if (absl::Status s = WaitUntilReachable(); !s.ok()) return s;
  return HealthCall(absl::Now() + options_.call_timeout);
}

absl::StatusOr<v1::VmmHealthResponse> VmmClient::Health(
    absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  if (absl::Status s = WaitUntilReachable(timeout); !s.ok()) return s;
  return HealthCall(deadline);
}

absl::StatusOr<v1::VmmHealthResponse> VmmClient::HealthCall(
    absl::Time deadline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  v1::VmmHealthResponse response;
  grpc::Status status =
      stub_->Health(&context, v1::VmmHealthRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::ShutdownResponse> VmmClient::Shutdown(
    const v1::ShutdownRequest& request) {
  if (absl::Status s = WaitUntilReachable(); !s.ok()) return s;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  v1::ShutdownResponse response;
  grpc::Status status = stub_->Shutdown(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<std::unique_ptr<RunStream>> VmmClient::StartRun(
    const v1::RunRequest& request) {
  if (absl::Status s = WaitUntilReachable(); !s.ok()) return s;
  std::unique_ptr<RunStream> stream(new RunStream());
  stream->context_.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.run_deadline));
  std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader =
      stub_->Run(&stream->context_, request);
  stream->reader_ = std::thread(
      [s = stream.get(), r = std::move(reader)]() mutable {
        s->ReadAll(std::move(r));
      });
  return stream;
}

}  // namespace cloudlet::api
