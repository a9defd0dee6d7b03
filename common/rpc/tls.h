#ifndef CLOUDLET_COMMON_RPC_TLS_H_
#define CLOUDLET_COMMON_RPC_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace cloudlet {

// TLS of the API <-> VMM gRPC link, from PEM files. Plaintext (the loopback
// default) when no file is named. With a client CA on the VMM and a client
// certificate on the API the link is mutual TLS: only holders of a
// certificate signed by that CA can start runs.

// What cloudlet-vmm serves with.
struct TlsServerFiles {
  std::string cert_file;       // the certificate chain it presents
  std::string key_file;        // its private key
  std::string client_ca_file;  // when set, clients must present a
                               // certificate signed by this CA
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// What cloudlet-api connects with.
struct TlsClientFiles {
  std::string ca_file;    // when set: TLS, the VMMs' certificates checked
                          // against this CA
  std::string cert_file;  // with key_file: the certificate the API presents
  std::string key_file;
  // The name the VMMs' certificates must carry, when it is not the
  // target's host (an ipv4: list has none worth checking).
  std::string server_name;
  bool enabled() const {
    return !ca_file.empty() || !cert_file.empty() || !key_file.empty();
  }
};

// Insecure credentials when `files` name nothing; InvalidArgument for a
// half-given pair (a certificate without its key, a client CA without a
// certificate); NotFound naming a file that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsServerFiles& files);
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const TlsClientFiles& files);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_RPC_TLS_H_
