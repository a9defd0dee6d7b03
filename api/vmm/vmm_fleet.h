#ifndef CLOUDLET_API_VMM_VMM_FLEET_H_
#define CLOUDLET_API_VMM_VMM_FLEET_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/vmm/vmm_addresses.h"
#include "api/vmm/vmm_channel.h"
#include "vmm.grpc.pb.h"

namespace cloudlet::api {

// One VMM's answer to a probe.
struct VmmProbe {
  std::string address;  // VmmAddress::display
  absl::StatusOr<v1::VmmHealthResponse> health;
};

// Every VMM's answer, in the order the target lists or resolves them.
struct FleetProbe {
  absl::Status resolved;  // why the target named no VMM, if it did not
  std::vector<VmmProbe> vmms;

  // The first VMM that answered and is not shutting down, else the first that
  // answered, else null.
  const VmmProbe* Representative() const;
  int ready() const;  // VMMs that answered and are not shutting down
};

// Asks each VMM behind a target for its Health, one channel per VMM, for
// /healthz and /metrics, and for why a run found no VMM: the runs' channel
// spreads calls and so cannot say which VMM is which. Thread-safe.
class VmmFleet {
 public:
  VmmFleet(std::string target, VmmChannelSecurity security);

  // Resolves the target and starts connecting to each VMM, so that the
  // first probe does not wait for handshakes. Best effort: a target that
  // does not resolve now is tried again by each probe.
  void Connect();

  // Resolves the target again (pods come and go) and asks every VMM at
  // once, each within `timeout`; so a probe takes about `timeout` at most,
  // however many VMMs are down.
  FleetProbe Probe(absl::Duration timeout);

 private:
  std::shared_ptr<grpc::Channel> ChannelFor(const VmmAddress& address);
  // Drops the channels of VMMs the target no longer names.
  void Forget(const std::vector<VmmAddress>& current);

  const std::string target_;
  const VmmChannelSecurity security_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_
      ABSL_GUARDED_BY(mu_);  // by VmmAddress::target
};

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_VMM_VMM_FLEET_H_
