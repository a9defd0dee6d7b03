// Functions over HTTP against the real cloudlet-api and cloudlet-vmm on the
// host-agent seam (tests/e2e chain.h): deploy (SSE, ending with the
// version), list, show, invoke (SSE and one JSON document), delete; the
// build kept by the VMM; versions under concurrent deploys, a failing build
// and a killed API; every bad input's status.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/run_limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/http_client.h"
#include "tests/support/postgres_server.h"
#include "tests/e2e/chain.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;
using google::protobuf::Struct;

Struct ParseJson(const std::string& json) {
  Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  return parsed;
}

// A copy: the Struct is often a temporary.
google::protobuf::Value Field(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? google::protobuf::Value() : it->second;
}

std::string Deploy(const std::string& name, const std::string& language,
                   const std::string& code) {
  return absl::StrCat(R"({"name": ")", name, R"(", "workload": {"language": ")",
                      language, R"(", "code": ")", Base64(code), "\"}}");
}

constexpr char kHelloC[] =
    "#include <stdio.h>\n#include <stdlib.h>\n"
    "int main(int c, char** v){char line[64]=\"\";fgets(line,64,stdin);"
    "printf(\"hi %s %s %s\", c > 1 ? v[1] : \"-\", getenv(\"WHO\") ? "
    "getenv(\"WHO\") : \"nobody\", line);return 7;}\n";

class FunctionsHttpTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> api_flags = {}) {
    Chain::Options options;
    options.vmm_flags.push_back("--vm_provider=host_agent");
    options.api_flags = std::move(api_flags);
    absl::StatusOr<std::unique_ptr<Chain>> chain = Chain::Start(options);
    ASSERT_TRUE(chain.ok()) << chain.status();
    chain_ = *std::move(chain);
  }

  HttpResult Call(const std::string& method, const std::string& path,
                  const std::string& body = "",
                  std::vector<std::string> headers = {}) {
    absl::StatusOr<HttpResult> result =
        HttpCall(method, chain_->api_url() + path, body, absl::Seconds(120),
                 nullptr, headers);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : HttpResult{};
  }

  // Deploys and returns the stream's final `function` frame.
  Struct DeployFunction(const std::string& name, const std::string& language,
                        const std::string& code) {
    HttpResult deployed = Call("POST", "/functions", Deploy(name, language, code));
    EXPECT_EQ(deployed.status, 200) << deployed.body;
    auto frames = SseFrames(deployed.body);
    EXPECT_FALSE(frames.empty());
    if (frames.empty()) return {};
    EXPECT_EQ(frames.back().first, "function") << deployed.body;
    return ParseJson(frames.back().second);
  }

  Struct InvokeJson(const std::string& name, const std::string& body = "{}") {
    HttpResult invoked = Call("POST", absl::StrCat("/functions/", name, "/invoke"),
                              body, {"Accept: application/json"});
    EXPECT_EQ(invoked.status, 200) << invoked.body;
    EXPECT_THAT(invoked.content_type, HasSubstr("application/json"));
    return ParseJson(invoked.body);
  }

  void ExpectError(const HttpResult& result, long status,
                   const std::string& message_part) {
    EXPECT_EQ(result.status, status) << result.body;
    EXPECT_THAT(Field(ParseJson(result.body), "message").string_value(),
                HasSubstr(message_part));
  }

  std::unique_ptr<Chain> chain_;
};

TEST_F(FunctionsHttpTest, DeployListShowInvokeAndDeleteAFunction) {
  Start();
  Struct deployed = DeployFunction("hello", "C", kHelloC);
  EXPECT_EQ(Field(deployed, "name").string_value(), "hello");
  EXPECT_EQ(Field(deployed, "version").string_value(), "1");
  EXPECT_EQ(Field(deployed, "state").string_value(), "BUILD_STATE_READY");

  HttpResult list = Call("GET", "/functions");
  ASSERT_EQ(list.status, 200);
  const google::protobuf::ListValue functions =
      Field(ParseJson(list.body), "functions").list_value();
  ASSERT_EQ(functions.values_size(), 1);
  EXPECT_EQ(Field(functions.values(0).struct_value(), "name").string_value(),
            "hello");

  // SSE: the build comes from the VMM's cache, the output streams.
  HttpResult streamed = Call("POST", "/functions/hello/invoke", "{}");
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  EXPECT_THAT(streamed.body, HasSubstr("\"cached\":true"));
  EXPECT_THAT(streamed.body, HasSubstr("\"exit_code\":7"));

  // JSON: per-call args, env and stdin.
  Struct answer = InvokeJson(
      "hello", absl::StrCat(R"({"args": ["there"], "env": {"WHO": "me"},)",
                            R"( "stdin": ")", Base64("line\n"), "\"}"));
  EXPECT_EQ(Field(answer, "stdout").string_value(), "hi there me line\n");
  EXPECT_EQ(Field(answer, "exit_code").number_value(), 7);
  EXPECT_EQ(Field(answer, "reason").string_value(), "EXITED");
  EXPECT_EQ(Field(answer, "version").string_value(), "1");
  EXPECT_TRUE(Field(answer, "timings").has_struct_value());
  const Struct telemetry = Field(answer, "telemetry").struct_value();
  EXPECT_TRUE(Field(telemetry, "build_cached").bool_value());
  EXPECT_EQ(Field(telemetry, "stdout_bytes").string_value(), "17");
  EXPECT_TRUE(Field(telemetry, "peak_memory_bytes").has_string_value());

  HttpResult shown = Call("GET", "/functions/hello");
  ASSERT_EQ(shown.status, 200);
  Struct function = ParseJson(shown.body);
  EXPECT_EQ(Field(function, "invocations").string_value(), "2");
  EXPECT_EQ(Field(function, "ready_version").string_value(), "1");
  EXPECT_EQ(Field(function, "versions").list_value().values_size(), 1);
  EXPECT_EQ(Field(Field(function, "last_result").struct_value(), "exit_code")
                .number_value(),
            7);

  EXPECT_EQ(Call("DELETE", "/functions/hello").status, 204);
  ExpectError(Call("GET", "/functions/hello"), 404, "no function named hello");
  ExpectError(Call("POST", "/functions/hello/invoke", "{}"), 404,
              "no function named hello");
}

TEST_F(FunctionsHttpTest, NonUtf8OutputComesBackAsBase64) {
  Start();
  DeployFunction("bytes", "SHELL", "printf 'a\\377b'; printf ok >&2");
  Struct answer = InvokeJson("bytes");
  std::string raw;
  ASSERT_TRUE(absl::Base64Unescape(
      Field(answer, "stdout_base64").string_value(), &raw));
  EXPECT_EQ(raw, "a\xff" "b");
  EXPECT_EQ(Field(answer, "stderr").string_value(), "ok");
}

TEST_F(FunctionsHttpTest, AFailingBuildKeepsTheLastGoodVersionInvocable) {
  Start();
  DeployFunction("f", "C", "int main(){return 1;}");
  Struct broken = DeployFunction("f", "C", "int main( {");
  EXPECT_EQ(Field(broken, "version").string_value(), "2");
  EXPECT_EQ(Field(broken, "state").string_value(), "BUILD_STATE_FAILED");
  EXPECT_THAT(Field(broken, "message").string_value(), HasSubstr("build failed"));
  Struct answer = InvokeJson("f");
  EXPECT_EQ(Field(answer, "version").string_value(), "1");
  EXPECT_EQ(Field(answer, "exit_code").number_value(), 1);
  // A function with no good version at all cannot be invoked.
  DeployFunction("never", "C", "int main( {");
  ExpectError(Call("POST", "/functions/never/invoke", "{}"), 409,
              "no built version");
}

TEST_F(FunctionsHttpTest, TwoConcurrentDeploysOfOneNameBothLand) {
  Start();
  std::set<std::string> versions;
  absl::Mutex mu;
  auto deploy = [&](const std::string& code) {
    Struct deployed = DeployFunction("twice", "SHELL", code);
    absl::MutexLock lock(&mu);
    versions.insert(Field(deployed, "version").string_value());
  };
  std::thread a(deploy, "echo a");
  std::thread b(deploy, "echo b");
  a.join();
  b.join();
  EXPECT_EQ(versions, (std::set<std::string>{"1", "2"}));
}

TEST_F(FunctionsHttpTest, AFunctionOutlivesTheApiKilledWithSigkill) {
  Start();
  DeployFunction("durable", "SHELL", "echo still here");
  ASSERT_TRUE(chain_->api().process().SignalGroup(SIGKILL).ok());
  ASSERT_TRUE(chain_->RestartApi().ok());
  Struct answer = InvokeJson("durable");
  EXPECT_EQ(Field(answer, "stdout").string_value(), "still here\n");
}

TEST_F(FunctionsHttpTest, BadInputGetsAClearStatus) {
  Start();
  ExpectError(Call("POST", "/functions", Deploy("Bad_Name", "SHELL", "echo")),
              400, "may only contain a-z, 0-9 and '-'");
  ExpectError(Call("POST", "/functions",
                   R"({"workload": {"language": "SHELL", "code": "ZWNobw=="}})"),
              400, "name: required");
  ExpectError(Call("POST", "/functions",
                   Deploy("big", "SHELL", std::string(kMaxCodeBytes + 1, '#'))),
              413, "workload.code");
  ExpectError(Call("POST", "/functions",
                   R"({"name": "pkg", "workload": {"language": "SHELL", )"
                   R"("code": "ZWNobw==", "packages": ["x; rm -rf /"]}})"),
              400, "is not a Debian package name");
  ExpectError(Call("POST", "/functions",
                   R"({"name": "esc", "workload": {"language": "SHELL", )"
                   R"("files": [{"path": "../x", "content": "ZWNobw=="}]}})"),
              400, "leaves the project");
  ExpectError(Call("GET", "/functions/nope"), 404, "no function named nope");
  ExpectError(Call("GET", "/functions/UPPER"), 400, "may only contain");
  DeployFunction("small", "SHELL", "cat");
  ExpectError(Call("POST", "/functions/small/invoke",
                   absl::StrCat(R"({"stdin": ")",
                                Base64(std::string((1 << 20) + 1, 'x')), "\"}")),
              413, "stdin");
  ExpectError(Call("POST", "/functions/small/invoke", R"({"bogus": 1})"), 400,
              "bogus");
  EXPECT_EQ(Call("GET", "/functions/small/invoke").status, 405);
}

TEST_F(FunctionsHttpTest, TwoApisOnOnePostgresDatabaseServeTheSameFunctions) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> postgres =
      PostgresServer::Start();
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  absl::StatusOr<std::string> database = (*postgres)->NewDatabase();
  ASSERT_TRUE(database.ok()) << database.status();
  const std::string flag = absl::StrCat("--database_url=", *database);
  Start({flag});
  Struct deployed = DeployFunction("shared", "SHELL", "echo from any replica");
  EXPECT_EQ(Field(deployed, "state").string_value(), "BUILD_STATE_READY");

  // A second API (a replica) on the same database and VMM.
  absl::StatusOr<std::unique_ptr<ApiProcess>> replica =
      ApiProcess::Start(CLOUDLET_API_BINARY, chain_->vmm_address(), {flag});
  ASSERT_TRUE(replica.ok()) << replica.status();
  absl::StatusOr<HttpResult> invoked = HttpCall(
      "POST", (*replica)->url() + "/functions/shared/invoke", "{}",
      absl::Seconds(60), nullptr, {"Accept: application/json"});
  ASSERT_TRUE(invoked.ok()) << invoked.status();
  EXPECT_EQ(invoked->status, 200) << invoked->body;
  EXPECT_EQ(Field(ParseJson(invoked->body), "stdout").string_value(),
            "from any replica\n");
  // The invocation the replica counted is what the first API reports.
  HttpResult shown = Call("GET", "/functions/shared");
  EXPECT_EQ(Field(ParseJson(shown.body), "invocations").string_value(), "1");
}

TEST_F(FunctionsHttpTest, ACorruptRegistryIs503NamingTheFileWhileRunWorks) {
  absl::StatusOr<TempDir> state = TempDir::Create("corrupt-registry-");
  ASSERT_TRUE(state.ok());
  std::ofstream(state->path() / "functions.db") << std::string(4096, 'x');
  Start({absl::StrCat("--state_dir=", state->path().string())});
  ExpectError(Call("GET", "/functions"), 503,
              (state->path() / "functions.db").string());
  ExpectError(Call("POST", "/functions", Deploy("f", "SHELL", "echo")), 503,
              "functions.db");
  HttpResult run = Call(
      "POST", "/run",
      absl::StrCat(R"({"workload": {"language": "SHELL", "code": ")",
                   Base64("echo fine"), "\"}}"));
  EXPECT_EQ(run.status, 200);
  EXPECT_THAT(run.body, HasSubstr("\"reason\":\"EXITED\""));
}

}  // namespace
}  // namespace cloudlet::testing
