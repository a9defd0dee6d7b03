#include "common/rpc/tls.h"

#include <fstream>

#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet {
namespace {

using ::testing::HasSubstr;

TlsServerFiles Server(std::string cert, std::string key, std::string ca) {
  TlsServerFiles files;
  files.cert_file = std::move(cert);
  files.key_file = std::move(key);
  files.client_ca_file = std::move(ca);
  return files;
}

TlsClientFiles Client(std::string ca, std::string cert, std::string key) {
  TlsClientFiles files;
  files.ca_file = std::move(ca);
  files.cert_file = std::move(cert);
  files.key_file = std::move(key);
  return files;
}

TEST(MakeServerCredentials, IsPlaintextWhenNoFileIsNamed) {
  EXPECT_TRUE(MakeServerCredentials({}).ok());
}

TEST(MakeServerCredentials, RefusesACertificateWithoutItsKey) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(Server("/etc/hostname", "", ""));
  ASSERT_FALSE(credentials.ok());
  EXPECT_THAT(credentials.status().message(), HasSubstr("--tls_key_file"));
}

TEST(MakeServerCredentials, RefusesAClientCaWithoutACertificate) {
  EXPECT_EQ(MakeServerCredentials(Server("", "", "/etc/hostname"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MakeServerCredentials, NamesAFileThatCannotBeRead) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(
          Server("/nonexistent/cert.pem", "/nonexistent/k", ""));
  ASSERT_FALSE(credentials.ok());
  EXPECT_THAT(credentials.status().message(),
              HasSubstr("/nonexistent/cert.pem"));
}

TEST(MakeChannelCredentials, NeedsACaToCheckTheVmms) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(Client("", "c.pem", "k.pem"));
  ASSERT_FALSE(credentials.ok());
  EXPECT_THAT(credentials.status().message(), HasSubstr("--vmm_tls_ca_file"));
}

TEST(MakeChannelCredentials, RefusesAFileThatIsNotPem) {
  absl::StatusOr<TempDir> dir = TempDir::Create("tls-test");
  ASSERT_TRUE(dir.ok());
  std::ofstream(dir->path() / "ca.pem") << "not a certificate\n";
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(Client((dir->path() / "ca.pem").string(), "", ""));
  ASSERT_FALSE(credentials.ok());
  EXPECT_THAT(credentials.status().message(), HasSubstr("not a PEM file"));
}

}  // namespace
}  // namespace cloudlet
