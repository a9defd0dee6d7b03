#include "common/rpc/tls.h"

#include <grpcpp/security/server_credentials.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/read_file.h"

namespace cloudlet {
namespace {

// PEM files are a few kB; anything far bigger is not one.
constexpr uint64_t kMaxPemBytes = 1 << 20;

absl::StatusOr<std::string> ReadPem(const std::string& file,
                                    const char* what) {
  absl::StatusOr<std::string> pem = ReadFileUpTo(file, kMaxPemBytes);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(),
                        absl::StrCat(what, " ", file, ": ",
                                     pem.status().message()));
  }
  if (pem->find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", file, ": not a PEM file"));
  }
  return pem;
}

// Both or neither of a certificate and its key.
absl::Status CheckPair(const std::string& cert, const std::string& key,
                       const char* cert_flag, const char* key_flag) {
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "give both ", cert_flag, " and ", key_flag, ", or neither"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsServerFiles& files) {
  if (!files.enabled()) {
    if (!files.client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
    }
    return grpc::InsecureServerCredentials();
  }
  if (absl::Status s = CheckPair(files.cert_file, files.key_file,
                                 "--tls_cert_file", "--tls_key_file");
      !s.ok()) {
    return s;
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  absl::StatusOr<std::string> cert =
      ReadPem(files.cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(files.key_file, "TLS key");
  if (!key.ok()) return key.status();
  pair.cert_chain = *std::move(cert);
  pair.private_key = *std::move(key);
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!files.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPem(files.client_ca_file, "TLS client CA");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const TlsClientFiles& files) {
  if (!files.enabled()) return grpc::InsecureChannelCredentials();
  if (files.ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--vmm_tls_ca_file is needed to check the VMMs' certificates when "
        "TLS is on");
  }
  if (absl::Status s = CheckPair(files.cert_file, files.key_file,
                                 "--vmm_tls_cert_file", "--vmm_tls_key_file");
      !s.ok()) {
    return s;
  }
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> ca = ReadPem(files.ca_file, "TLS CA");
  if (!ca.ok()) return ca.status();
  options.pem_root_certs = *std::move(ca);
  if (!files.cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPem(files.cert_file, "TLS certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem(files.key_file, "TLS key");
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(options);
}

}  // namespace cloudlet
