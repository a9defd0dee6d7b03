// Hostile input to the CLI and the HTTP API: huge, binary and empty sources,
// a config that is not TOML, deeply nested and truncated JSON, clients that
// stall. Each gets its 4xx or exit 2 and a message; nothing crashes, no VM
// starts for what is refused, and the API goes on serving everybody else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/process/temp_dir.h"
#include "common/process/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/http_client.h"
#include "tests/cli/cli_process.h"
#include "tests/hardening/hardening_support.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// cloudlet-api's read timeout (cpp-httplib's default, which it keeps).
constexpr absl::Duration kApiReadTimeout = absl::Seconds(5);

int PortOf(const std::string& url) {
  int port = 0;
  (void)absl::SimpleAtoi(url.substr(url.rfind(':') + 1), &port);
  return port;
}

// A raw TCP connection to the API, for what a well-behaved client (curl)
// would never send.
class RawClient {
 public:
  static absl::StatusOr<RawClient> Connect(int port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address),
                         sizeof(address)) != 0) {
      return absl::UnavailableError(absl::StrCat("connect to port ", port));
    }
    return RawClient(std::move(fd));
  }

  bool Send(absl::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Half-closes the connection: the server reads EOF.
  void CloseWriting() { ::shutdown(fd_.get(), SHUT_WR); }

  // Reads until the server closes the connection or `deadline` passes.
  // Returns what arrived; `closed` says whether the server closed it.
  std::string ReadUntilClosed(absl::Time deadline, bool* closed) {
    std::string received;
    *closed = false;
    while (absl::Now() < deadline) {
      pollfd pfd{.fd = fd_.get(), .events = POLLIN, .revents = 0};
      int wait_ms = static_cast<int>(
          absl::ToInt64Milliseconds(deadline - absl::Now())) + 1;
      if (::poll(&pfd, 1, wait_ms) <= 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      received.append(buffer, static_cast<size_t>(n));
    }
    return received;
  }

 private:
  explicit RawClient(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class HostileInputTest : public ::testing::Test {
 protected:
  // One chain for the suite: nothing here may start a VM except the runs
  // that prove the API still serves, which the host-agent seam serves as
  // well as a microVM (this is about the CLI's and the API's input).
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<HardenedChain>> chain =
        HardenedChain::Start(
            {.vmm_flags = {"--vm_provider=host_agent"}, .api_flags = {}});
    ASSERT_TRUE(chain.ok()) << chain.status();
    chain_ = chain->release();
  }
  static void TearDownTestSuite() {
    delete chain_;
    chain_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(chain_, nullptr);
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-hostile-input-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(*std::move(dir));
  }

  fs::path Write(const std::string& name, const std::string& content) {
    fs::path path = dir_->path() / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // A shell workload config whose source is `source_name`.
  fs::path ShellConfig(const std::string& source_name) {
    return Write("work.toml", absl::StrCat("language = \"shell\"\n[build]\n"
                                           "source-code-path = \"",
                                           source_name, "\"\n"));
  }

  CliOutcome Cloudlet(const fs::path& config) {
    CliInvocation call;
    call.args = {"run", "--no-start", "-c", config.string()};
    call.env = CliEnvFor(chain_->chain());
    return RunCloudlet(CLOUDLET_CLI_BINARY, call);
  }

  // The CLI refused `config` as a usage error, quickly, starting no VM.
  void ExpectRefused(const CliOutcome& run, const std::string& message) {
    EXPECT_EQ(run.exit.code, 2) << run.err;
    EXPECT_THAT(run.err, HasSubstr(message));
    EXPECT_EQ(run.out, "");
    EXPECT_LT(run.ended - run.started, absl::Seconds(2));
    EXPECT_THAT(VmProcessesOf(::getpid()), IsEmpty()) << "a VM started";
    std::cout << "cloudlet: exit " << run.exit.code << ": " << run.err;
  }

  HttpResult Post(const std::string& body) {
    absl::StatusOr<HttpResult> result = HttpCall(
        "POST", chain_->api_url() + "/run", body, absl::Seconds(60));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : HttpResult{};
  }

  // The API is alive and answers at once.
  void ExpectApiServes() {
    absl::Time start = absl::Now();
    absl::StatusOr<HttpResult> health = HttpCall(
        "GET", chain_->api_url() + "/healthz", "", absl::Seconds(10));
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(health->status, 200) << health->body;
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  }

  static HardenedChain* chain_;
  std::unique_ptr<TempDir> dir_;
};

HardenedChain* HostileInputTest::chain_ = nullptr;

TEST_F(HostileInputTest, CliRefusesA100MegabyteSourceBeforeReadingIt) {
  fs::path big = dir_->path() / "big.sh";
  std::ofstream(big).close();
  fs::resize_file(big, 100 << 20);
  ExpectRefused(Cloudlet(ShellConfig("big.sh")),
                "build.source-code-path: big.sh is 104857600 bytes");
}

TEST_F(HostileInputTest, CliRefusesABinarySourceNamingTheFile) {
  std::string elf("\x7f" "ELF\x02\x01\x01\0\0\0\xff\xfe\xc3\x28 main", 20);
  Write("program.sh", elf);
  ExpectRefused(Cloudlet(ShellConfig("program.sh")),
                "build.source-code-path: program.sh is not UTF-8 text");
}

TEST_F(HostileInputTest, CliRefusesAnEmptySourceNamingTheFile) {
  Write("empty.sh", "");
  ExpectRefused(Cloudlet(ShellConfig("empty.sh")),
                "build.source-code-path: empty.sh is empty");
}

TEST_F(HostileInputTest, CliRefusesAConfigThatIsNotTomlWithFileAndLine) {
  // JSON is not TOML; the error is on line 2.
  fs::path config = Write("config.json",
                          "{\n  \"language\": \"shell\",\n"
                          "  \"build\": {\"source-code-path\": \"x.sh\"}\n}\n");
  CliOutcome run = Cloudlet(config);
  ExpectRefused(run, absl::StrCat(config.string(), ":1: invalid TOML"));
}

TEST_F(HostileInputTest, ApiAnswers413ToA100MegabyteBodyAndServesTheNext) {
  std::string body = absl::StrCat(
      R"({"workload": {"language": "SHELL", "code": ")",
      std::string(100 << 20, 'A'), "\"}}");
  absl::Time start = absl::Now();
  HttpResult result = Post(body);
  EXPECT_EQ(result.status, 413) << result.body.substr(0, 200);
  EXPECT_THAT(result.body, HasSubstr("\"code\":\"RESOURCE_EXHAUSTED\""));
  EXPECT_THAT(result.body, HasSubstr("over the limit of 16777216 bytes"));
  std::cout << absl::StrFormat("100 MB body: HTTP %d in %.2fs: %s",
                               result.status,
                               absl::ToDoubleSeconds(absl::Now() - start),
                               result.body);
  ExpectApiServes();
  EXPECT_THAT(VmProcessesOf(::getpid()), IsEmpty());
}

TEST_F(HostileInputTest, DeeplyNestedJsonIs400AndTheApiLivesOn) {
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  for (const std::string& body :
       {std::string(100000, '['),
        absl::StrCat(std::string(100000, '['), std::string(100000, ']')),
        absl::StrCat("{\"workload\": ", std::string(100000, '['),
                     std::string(100000, ']'), "}"),
        objects}) {
    absl::Time start = absl::Now();
    HttpResult result = Post(body);
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "a slow parse";
    EXPECT_EQ(result.status, 400) << result.body;
    EXPECT_THAT(result.body, HasSubstr("\"code\":\"INVALID_ARGUMENT\""));
    std::cout << "nested JSON (" << body.size() << " bytes): HTTP "
              << result.status << ": " << result.body;
    ExpectApiServes();
  }
  EXPECT_THAT(VmProcessesOf(::getpid()), IsEmpty());
}

TEST_F(HostileInputTest, JsonCutOffMidwayIs400AndTheApiLivesOn) {
  std::string whole = absl::StrCat(
      R"({"workload": {"language": "SHELL", "code": ")", Base64("echo hi\n"),
      R"(", "timeout": "10s"}})");
  // The JSON itself ends mid-way (and says so in Content-Length).
  HttpResult cut = Post(whole.substr(0, whole.size() / 2));
  EXPECT_EQ(cut.status, 400) << cut.body;
  EXPECT_THAT(cut.body, AllOf(HasSubstr("\"code\":\"INVALID_ARGUMENT\""),
                              HasSubstr("not a JSON object")));
  std::cout << "cut JSON: HTTP " << cut.status << ": " << cut.body;
  ExpectApiServes();

  // The connection ends mid-way: Content-Length promises the whole body,
  // half of it arrives, then the client closes its side.
  absl::StatusOr<RawClient> client =
      RawClient::Connect(PortOf(chain_->api_url()));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(client->Send(absl::StrCat(
      "POST /run HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
      "application/json\r\nContent-Length: ",
      whole.size(), "\r\n\r\n", whole.substr(0, whole.size() / 2))));
  client->CloseWriting();
  bool closed = false;
  absl::Time sent = absl::Now();
  std::string answer =
      client->ReadUntilClosed(sent + kApiReadTimeout + absl::Seconds(5), &closed);
  // Without the rest of the body there is nothing to run: either a 400 or
  // just a closed connection, within the read timeout.
  EXPECT_TRUE(closed) << "still open after the read timeout: " << answer;
  EXPECT_TRUE(answer.empty() || absl::StartsWith(answer, "HTTP/1.1 400"))
      << answer;
  ExpectApiServes();
  EXPECT_THAT(VmProcessesOf(::getpid()), IsEmpty());
}

TEST_F(HostileInputTest, StalledClientsAreDroppedWhileOthersAreServed) {
  constexpr int kStallers = 16;
  int port = PortOf(chain_->api_url());
  std::vector<RawClient> stallers;
  for (int i = 0; i < kStallers; ++i) {
    absl::StatusOr<RawClient> client = RawClient::Connect(port);
    ASSERT_TRUE(client.ok()) << client.status();
    // Half stop inside the headers, half after them (a body promised and
    // never sent).
    std::string request =
        i % 2 == 0
            ? "POST /run HTTP/1.1\r\nHost: localhost\r\nContent-Le"
            : "POST /run HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
              "application/json\r\nContent-Length: 1000\r\n\r\n{\"work";
    ASSERT_TRUE(client->Send(request));
    stallers.push_back(*std::move(client));
  }
  absl::Time stalled = absl::Now();

  // Everybody else is served meanwhile: health checks at once, and a run.
  for (int i = 0; i < 5; ++i) ExpectApiServes();
  std::string token = absl::StrCat("served-", NewRunId());
  absl::StatusOr<StreamedRun> run = RunThroughApi(
      chain_->api_url(), MakeRun(v1::SHELL, absl::StrCat("echo ", token)),
      absl::Seconds(180));
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->result.has_value()) << run->Summary();
  EXPECT_EQ(run->result->status(), v1::DONE) << run->Summary();
  EXPECT_EQ(run->out, token + "\n") << run->Summary();

  // Each staller is dropped once the read timeout passes.
  for (RawClient& staller : stallers) {
    bool closed = false;
    std::string answer = staller.ReadUntilClosed(
        stalled + kApiReadTimeout + absl::Seconds(5), &closed);
    EXPECT_TRUE(closed) << "a stalled client is still connected "
                        << absl::FormatDuration(absl::Now() - stalled)
                        << " later; it got: " << answer;
  }
  absl::Duration dropped_after = absl::Now() - stalled;
  std::cout << absl::StrFormat(
      "%d stalled clients all dropped within %.1fs; a run beside them took "
      "%.1fs\n",
      kStallers, absl::ToDoubleSeconds(dropped_after),
      absl::ToDoubleSeconds(run->wall));
  ExpectApiServes();
}

}  // namespace
}  // namespace cloudlet::testing
