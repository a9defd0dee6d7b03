#include "api/vmm/vmm_channel.h"

namespace cloudlet::api {

std::shared_ptr<grpc::Channel> MakeVmmChannel(
    const std::string& target, const std::string& service_config,
    const VmmChannelSecurity& security) {
  grpc::ChannelArguments args;
  if (!service_config.empty()) args.SetServiceConfigJSON(service_config);
  // A request is kept for retries up to this size; a bigger one is sent
  // once (the default, 256 KiB, is below what a project may send).
  args.SetInt(GRPC_ARG_PER_RPC_RETRY_BUFFER_SIZE, 64 << 20);
  // Reconnect quickly when the VMM (re)starts after the API: the default
  // backoff (1 s growing to 120 s) would keep answering 503 long after it
  // is back.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  if (security.credentials != nullptr && !security.server_name.empty()) {
    args.SetSslTargetNameOverride(security.server_name);
  }
  return grpc::CreateCustomChannel(
      target,
      security.credentials != nullptr ? security.credentials
                                      : grpc::InsecureChannelCredentials(),
      args);
}

}  // namespace cloudlet::api
