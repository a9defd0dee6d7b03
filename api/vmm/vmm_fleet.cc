#include "api/vmm/vmm_fleet.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "common/rpc/grpc_status.h"

namespace cloudlet::api {

const VmmProbe* FleetProbe::Representative() const {
  const VmmProbe* answered = nullptr;
  for (const VmmProbe& vmm : vmms) {
    if (!vmm.health.ok()) continue;
    if (vmm.health->ready()) return &vmm;
    if (answered == nullptr) answered = &vmm;
  }
  return answered;
}

int FleetProbe::ready() const {
  int ready = 0;
  for (const VmmProbe& vmm : vmms) ready += vmm.health.ok() && vmm.health->ready();
  return ready;
}

VmmFleet::VmmFleet(std::string target, VmmChannelSecurity security)
    : target_(std::move(target)), security_(std::move(security)) {}

std::shared_ptr<grpc::Channel> VmmFleet::ChannelFor(const VmmAddress& address) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<grpc::Channel>& channel = channels_[address.target];
  if (channel == nullptr) {
    channel = MakeVmmChannel(address.target, /*service_config=*/"", security_);
  }
  return channel;
}

void VmmFleet::Connect() {
  absl::StatusOr<std::vector<VmmAddress>> addresses =
      ResolveVmmAddresses(target_);
  if (!addresses.ok()) return;
  for (const VmmAddress& address : *addresses) {
    ChannelFor(address)->GetState(/*try_to_connect=*/true);
  }
}

void VmmFleet::Forget(const std::vector<VmmAddress>& current) {
  absl::flat_hash_set<std::string> named;
  for (const VmmAddress& address : current) named.insert(address.target);
  absl::MutexLock lock(&mu_);
  absl::erase_if(channels_, [&](const auto& entry) {
    return !named.contains(entry.first);
  });
}

FleetProbe VmmFleet::Probe(absl::Duration timeout) {
  FleetProbe probe;
  absl::StatusOr<std::vector<VmmAddress>> addresses =
      ResolveVmmAddresses(target_);
  if (!addresses.ok()) {
    probe.resolved = addresses.status();
    return probe;
  }
  Forget(*addresses);

  // One call per VMM, all in flight together; each ends by its deadline.
  struct Call {
    std::unique_ptr<v1::VmmService::Stub> stub;
    grpc::ClientContext context;
    v1::VmmHealthRequest request;
    v1::VmmHealthResponse response;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  absl::BlockingCounter done(static_cast<int>(addresses->size()));
  const absl::Time deadline = absl::Now() + timeout;
  for (const VmmAddress& address : *addresses) {
    auto call = std::make_unique<Call>();
    call->stub = v1::VmmService::NewStub(ChannelFor(address));
    call->context.set_deadline(absl::ToChronoTime(deadline));
    // A channel made by this probe connects first rather than failing.
    call->context.set_wait_for_ready(true);
    Call* c = call.get();
    calls.push_back(std::move(call));
    c->stub->async()->Health(&c->context, &c->request, &c->response,
                             [c, &done](grpc::Status status) {
                               c->status = std::move(status);
                               done.DecrementCount();
                             });
  }
  done.Wait();
  for (size_t i = 0; i < calls.size(); ++i) {
    VmmProbe& vmm = probe.vmms.emplace_back();
    vmm.address = (*addresses)[i].display;
    if (calls[i]->status.ok()) {
      vmm.health = std::move(calls[i]->response);
    } else {
      vmm.health = FromGrpcStatus(calls[i]->status);
    }
  }
  return probe;
}

}  // namespace cloudlet::api
