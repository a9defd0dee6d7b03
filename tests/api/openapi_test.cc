// The OpenAPI document (api/web/openapi.json, served at /openapi.json)
// against the routes the server registers, and the page's files: served
// compiled in, open without a token like the probes, the document not.
// In-process ApiServer; no VMM is needed for any of this.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/http/server.h"
#include "api/web/web_assets.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/http_client.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kToken[] = "page-test-token-0123456789";

std::unique_ptr<api::ApiServer> StartApi(std::string token = "") {
  api::ApiServerOptions options;
  options.port = 0;
  options.vmm.target = "127.0.0.1:1";  // nothing there: not needed here
  options.auth_token = std::move(token);
  absl::StatusOr<std::unique_ptr<api::ApiServer>> server =
      api::ApiServer::Start(options, [] {});
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// "GET /functions/{name}" for every operation of the document.
std::set<std::string> DocumentedOperations() {
  const api::WebAsset* asset = api::FindWebAsset("openapi.json");
  EXPECT_NE(asset, nullptr);
  if (asset == nullptr) return {};
  google::protobuf::Struct document;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  std::string(asset->content), &document)
                  .ok());
  std::set<std::string> operations;
  for (const auto& [path, item] : document.fields().at("paths").struct_value()
                                      .fields()) {
    for (const auto& [method, operation] : item.struct_value().fields()) {
      if (method == "parameters") continue;
      operations.insert(absl::StrCat(absl::AsciiStrToUpper(method), " ", path));
    }
  }
  return operations;
}

TEST(OpenApiTest, TheDocumentHasExactlyTheRoutesTheServerRegisters) {
  std::unique_ptr<api::ApiServer> server = StartApi();
  ASSERT_NE(server, nullptr);
  std::set<std::string> registered;
  for (const api::ApiServer::ApiRoute& route : server->routes()) {
    registered.insert(absl::StrCat(route.method, " ", route.path));
  }
  EXPECT_EQ(DocumentedOperations(), registered);
  EXPECT_GE(registered.size(), 13u);
}

TEST(OpenApiTest, IsServedAsJsonAndNeedsTheTokenWhenOneIsSet) {
  std::unique_ptr<api::ApiServer> server = StartApi(kToken);
  ASSERT_NE(server, nullptr);
  const std::string url =
      absl::StrCat("http://127.0.0.1:", server->port(), "/openapi.json");
  absl::StatusOr<HttpResult> bare = HttpCall("GET", url, "", absl::Seconds(5));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->status, 401);
  absl::StatusOr<HttpResult> document =
      HttpCall("GET", url, "", absl::Seconds(5), nullptr,
               {absl::StrCat("Authorization: Bearer ", kToken)});
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(document->status, 200);
  EXPECT_THAT(document->content_type, StartsWith("application/json"));
  EXPECT_THAT(document->body, HasSubstr("\"openapi\": \"3.1.0\""));
}

TEST(WebPageTest, ThePageAndItsFilesLoadWithoutATokenAndNothingElseDoes) {
  std::unique_ptr<api::ApiServer> server = StartApi(kToken);
  ASSERT_NE(server, nullptr);
  const std::string base = absl::StrCat("http://127.0.0.1:", server->port());
  auto get = [&](const std::string& path) {
    absl::StatusOr<HttpResult> result =
        HttpCall("GET", base + path, "", absl::Seconds(5));
    EXPECT_TRUE(result.ok()) << path;
    return result.ok() ? *result : HttpResult{};
  };
  HttpResult page = get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.content_type, StartsWith("text/html"));
  EXPECT_THAT(page.body, HasSubstr("<script src=\"/web/app.js\""));
  EXPECT_EQ(get("/web/app.js").status, 200);
  EXPECT_THAT(get("/web/app.js").content_type, StartsWith("text/javascript"));
  EXPECT_EQ(get("/web/style.css").status, 200);
  EXPECT_EQ(get("/web/nope.js").status, 404);
  EXPECT_EQ(get("/web/openapi.json").status, 404) << "the document is not open";
  EXPECT_EQ(get("/functions").status, 401);
  absl::StatusOr<HttpResult> post = HttpCall("POST", base + "/", "{}",
                                             absl::Seconds(5));
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 405);
}

}  // namespace
}  // namespace cloudlet::testing
