#ifndef CLOUDLET_API_VMM_VMM_CHANNEL_H_
#define CLOUDLET_API_VMM_VMM_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace cloudlet::api {

// How the API reaches its VMMs: plaintext or TLS (common/rpc/tls.h).
struct VmmChannelSecurity {
  // Null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // With TLS: the name the VMMs' certificates must carry, when it is not the
  // target's host.
  std::string server_name;
};

// A channel to `target` (any gRPC target) with `service_config` (JSON),
// quick reconnects, and a retry buffer big enough for a whole project.
std::shared_ptr<grpc::Channel> MakeVmmChannel(const std::string& target,
                                              const std::string& service_config,
                                              const VmmChannelSecurity& security);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_VMM_VMM_CHANNEL_H_
