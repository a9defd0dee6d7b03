// Every behaviour of the function registry on both stores, the embedded
// SQLite file and a real PostgreSQL 15 server (tests/support), and what
// only one of them shows.
#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "api/functions/function_name.h"
#include "api/functions/postgres_registry.h"
#include "api/functions/sqlite_registry.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/postgres_server.h"

namespace cloudlet::api {
namespace {

using ::cloudlet::testing::PostgresServer;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

v1::Workload Code(const std::string& code) {
  v1::Workload workload;
  workload.set_language(v1::PYTHON);
  workload.set_code(code);
  return workload;
}

// The stores every behaviour test runs against.
enum class Store { kSqlite, kPostgres };

std::string StoreName(const ::testing::TestParamInfo<Store>& info) {
  return info.param == Store::kSqlite ? "Sqlite" : "Postgres";
}

// One PostgreSQL server for the whole test process (its start, initdb
// included, takes seconds), started on first use and stopped when the
// tests end; each test gets a fresh database on it.
class SharedPostgresEnvironment : public ::testing::Environment {
 public:
  PostgresServer* server() {
    if (!tried_) {
      tried_ = true;
      absl::StatusOr<std::unique_ptr<PostgresServer>> started =
          PostgresServer::Start();
      EXPECT_TRUE(started.ok()) << started.status();
      if (started.ok()) server_ = *std::move(started);
    }
    return server_.get();
  }
  void TearDown() override { server_.reset(); }

 private:
  bool tried_ = false;
  std::unique_ptr<PostgresServer> server_;
};

SharedPostgresEnvironment* const kPostgres =
    static_cast<SharedPostgresEnvironment*>(
        ::testing::AddGlobalTestEnvironment(new SharedPostgresEnvironment));

PostgresServer* SharedPostgres() { return kPostgres->server(); }

// A registry of the store under test, fresh for each test: a SQLite file in
// a temp dir, or a new database on the shared PostgreSQL server.
class RegistryTest : public ::testing::TestWithParam<Store> {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("registry-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(*std::move(dir));
    if (GetParam() == Store::kPostgres) {
      PostgresServer* server = SharedPostgres();
      ASSERT_NE(server, nullptr);
      absl::StatusOr<std::string> url = server->NewDatabase();
      ASSERT_TRUE(url.ok()) << url.status();
      url_ = *url;
    }
    registry_ = Open();
    ASSERT_NE(registry_, nullptr);
  }

  fs::path file() const { return dir_->path() / "state" / "functions.db"; }

  absl::StatusOr<std::unique_ptr<FunctionRegistry>> OpenStatus() const {
    return GetParam() == Store::kSqlite ? OpenSqliteRegistry(file())
                                        : OpenPostgresRegistry(url_);
  }

  // Another connection to the same store, as another process would open.
  std::unique_ptr<FunctionRegistry> Open() const {
    absl::StatusOr<std::unique_ptr<FunctionRegistry>> registry = OpenStatus();
    EXPECT_TRUE(registry.ok()) << registry.status();
    return registry.ok() ? *std::move(registry) : nullptr;
  }

  std::optional<TempDir> dir_;
  std::string url_;
  std::unique_ptr<FunctionRegistry> registry_;
};

INSTANTIATE_TEST_SUITE_P(Stores, RegistryTest,
                         ::testing::Values(Store::kSqlite, Store::kPostgres),
                         StoreName);

// What only the SQLite file shows.
class SqliteRegistryTest : public RegistryTest {};
INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteRegistryTest,
                         ::testing::Values(Store::kSqlite), StoreName);

TEST(FunctionName, TakesDnsLabelsOnly) {
  EXPECT_TRUE(ValidateFunctionName("hello").ok());
  EXPECT_TRUE(ValidateFunctionName("a-1").ok());
  EXPECT_TRUE(ValidateFunctionName(std::string(63, 'a')).ok());
  for (const std::string& bad : std::vector<std::string>{"", "Hello", "a_b", "a.b", "-a", "a-", "a/b", std::string(64, 'a'),
        std::string("a\0b", 3), "../x"}) {
    absl::Status status = ValidateFunctionName(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << bad;
  }
}

TEST_P(RegistryTest, VersionsCountUpPerFunctionAndStartBuilding) {
  EXPECT_EQ(*registry_->AddVersion("a", Code("1")), 1u);
  EXPECT_EQ(*registry_->AddVersion("a", Code("2")), 2u);
  EXPECT_EQ(*registry_->AddVersion("b", Code("1")), 1u);
  absl::StatusOr<v1::Function> a = registry_->Get("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->latest_version(), 2u);
  EXPECT_EQ(a->latest_state(), v1::BUILD_STATE_BUILDING);
  EXPECT_EQ(a->ready_version(), 0u);
  ASSERT_EQ(a->versions_size(), 2);
  EXPECT_EQ(a->versions(0).version(), 2u);  // newest first
  EXPECT_EQ(a->versions(0).language(), v1::PYTHON);
  EXPECT_EQ(a->versions(0).code_bytes(), 1u);
  absl::StatusOr<std::vector<v1::Function>> all = registry_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name(), "a");
  EXPECT_EQ((*all)[0].versions_size(), 0);  // lists leave versions out
}

TEST_P(RegistryTest, AFailedBuildLeavesThePreviousVersionInvocable) {
  ASSERT_TRUE(registry_->AddVersion("f", Code("good")).ok());
  absl::StatusOr<StoredVersion> none = registry_->ReadyVersion("f");
  EXPECT_TRUE(absl::IsFailedPrecondition(none.status()));
  EXPECT_THAT(none.status().message(), HasSubstr("BUILD_STATE_BUILDING"));

  ASSERT_TRUE(registry_->SetBuildState("f", 1, v1::BUILD_STATE_READY, "built").ok());
  ASSERT_TRUE(registry_->AddVersion("f", Code("broken")).ok());
  ASSERT_TRUE(
      registry_->SetBuildState("f", 2, v1::BUILD_STATE_FAILED, "syntax error").ok());
  absl::StatusOr<StoredVersion> ready = registry_->ReadyVersion("f");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->version, 1u);
  EXPECT_EQ(ready->workload.code(), "good");
  v1::Function f = *registry_->Get("f");
  EXPECT_EQ(f.latest_state(), v1::BUILD_STATE_FAILED);
  EXPECT_EQ(f.ready_version(), 1u);
  EXPECT_EQ(f.versions(0).message(), "syntax error");
}

TEST_P(RegistryTest, CountsInvocationsAndKeepsTheLastResult) {
  ASSERT_TRUE(registry_->AddVersion("f", Code("x")).ok());
  v1::Result result;
  result.set_exit_code(3);
  ASSERT_TRUE(registry_->RecordInvocation("f", result).ok());
  result.set_exit_code(4);
  ASSERT_TRUE(registry_->RecordInvocation("f", result).ok());
  v1::Function f = *registry_->Get("f");
  EXPECT_EQ(f.invocations(), 2u);
  EXPECT_EQ(f.last_result().exit_code(), 4);
}

TEST_P(RegistryTest, UnknownAndDeletedFunctionsAreNotFound) {
  EXPECT_TRUE(absl::IsNotFound(registry_->Get("nope").status()));
  EXPECT_TRUE(absl::IsNotFound(registry_->ReadyVersion("nope").status()));
  EXPECT_TRUE(absl::IsNotFound(registry_->Delete("nope")));
  ASSERT_TRUE(registry_->AddVersion("f", Code("x")).ok());
  ASSERT_TRUE(registry_->Delete("f").ok());
  EXPECT_TRUE(absl::IsNotFound(registry_->Get("f").status()));
  // A deploy after a delete starts again at version 1.
  EXPECT_EQ(*registry_->AddVersion("f", Code("y")), 1u);
  // A build that ends after its function was deleted changes nothing.
  ASSERT_TRUE(registry_->Delete("f").ok());
  EXPECT_TRUE(registry_->SetBuildState("f", 1, v1::BUILD_STATE_READY, "").ok());
  EXPECT_TRUE(absl::IsNotFound(registry_->Get("f").status()));
}

TEST_P(RegistryTest, ABadNameIsRefusedBeforeTheStore) {
  EXPECT_TRUE(
      absl::IsInvalidArgument(registry_->AddVersion("Bad_Name", Code("x")).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(registry_->Get("../etc").status()));
}

TEST_P(RegistryTest, ConcurrentDeploysFromTwoProcessesBothLand) {
  std::unique_ptr<FunctionRegistry> other = Open();  // its own connection
  ASSERT_NE(other, nullptr);
  std::vector<uint64_t> versions_a, versions_b;
  std::thread a([&] {
    for (int i = 0; i < 20; ++i) {
      absl::StatusOr<uint64_t> v = registry_->AddVersion("f", Code("a"));
      ASSERT_TRUE(v.ok()) << v.status();
      versions_a.push_back(*v);
    }
  });
  std::thread b([&] {
    for (int i = 0; i < 20; ++i) {
      absl::StatusOr<uint64_t> v = other->AddVersion("f", Code("b"));
      ASSERT_TRUE(v.ok()) << v.status();
      versions_b.push_back(*v);
    }
  });
  a.join();
  b.join();
  std::set<uint64_t> all(versions_a.begin(), versions_a.end());
  all.insert(versions_b.begin(), versions_b.end());
  EXPECT_EQ(all.size(), 40u);
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), 40u);
}

TEST_P(RegistryTest, ADeployKilledMidWayLosesNothingCommitted) {
  registry_.reset();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<FunctionRegistry>> mine = OpenStatus();
    if (!mine.ok()) ::_exit(1);
    for (int i = 0;; ++i) (void)(*mine)->AddVersion("f", Code("x"));
  }
  absl::SleepFor(absl::Milliseconds(300));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  registry_ = Open();
  ASSERT_NE(registry_, nullptr);
  absl::StatusOr<v1::Function> f = registry_->Get("f");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_GT(f->latest_version(), 0u);
  // Every committed version is there, numbered without a gap.
  EXPECT_EQ(static_cast<uint64_t>(f->versions_size()), f->latest_version());
  EXPECT_EQ(*registry_->AddVersion("f", Code("after")),
            f->latest_version() + 1);
}

TEST_P(RegistryTest, DataOutlivesTheProcessThatWroteIt) {
  ASSERT_TRUE(registry_->AddVersion("kept", Code("x")).ok());
  registry_.reset();
  registry_ = Open();
  EXPECT_TRUE(registry_->Get("kept").ok());
}

TEST_P(SqliteRegistryTest, ACorruptFileIsUnavailableNamingIt) {
  registry_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code error;
    fs::remove(file().string() + suffix, error);
  }
  std::ofstream(file()) << std::string(4096, 'x');
  absl::StatusOr<std::unique_ptr<FunctionRegistry>> opened =
      OpenSqliteRegistry(file());
  EXPECT_TRUE(absl::IsUnavailable(opened.status())) << opened.status();
  EXPECT_THAT(opened.status().message(), HasSubstr(file().string()));
}

TEST_P(SqliteRegistryTest, AFileFromANewerSchemaIsRefused) {
  registry_.reset();
  {
    // What a newer cloudlet-api would leave.
    std::string command = "sqlite3 '" + file().string() +
                          "' 'PRAGMA user_version = 99' 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << "needs the sqlite3 CLI";
  }
  absl::StatusOr<std::unique_ptr<FunctionRegistry>> opened =
      OpenSqliteRegistry(file());
  EXPECT_TRUE(absl::IsUnavailable(opened.status()));
  EXPECT_THAT(opened.status().message(), HasSubstr("newer"));
}

TEST_P(SqliteRegistryTest, AnUnwritableFolderIsUnavailableNamingTheFile) {
  if (::geteuid() == 0) {
    // Root writes anywhere: a path under a regular file cannot be created
    // by anyone.
    std::ofstream(dir_->path() / "plain") << "x";
    absl::StatusOr<std::unique_ptr<FunctionRegistry>> opened =
        OpenSqliteRegistry(dir_->path() / "plain" / "functions.db");
    EXPECT_TRUE(absl::IsUnavailable(opened.status()));
    EXPECT_THAT(opened.status().message(), HasSubstr("plain/functions.db"));
    return;
  }
  fs::create_directories(dir_->path() / "ro");
  ::chmod((dir_->path() / "ro").c_str(), 0500);
  absl::StatusOr<std::unique_ptr<FunctionRegistry>> opened =
      OpenSqliteRegistry(dir_->path() / "ro" / "functions.db");
  EXPECT_TRUE(absl::IsUnavailable(opened.status()));
  ::chmod((dir_->path() / "ro").c_str(), 0700);
}

TEST(PostgresRegistryTest, AnUnreachableServerIsUnavailableNamingIt) {
  absl::StatusOr<std::unique_ptr<FunctionRegistry>> opened =
      OpenPostgresRegistry(
          "postgresql://cloudlet:secret-password@127.0.0.1:9/none"
          "?connect_timeout=2");
  EXPECT_TRUE(absl::IsUnavailable(opened.status())) << opened.status();
  EXPECT_THAT(opened.status().message(), HasSubstr("PostgreSQL at 127.0.0.1:9"));
  EXPECT_THAT(opened.status().message(),
              ::testing::Not(HasSubstr("secret-password")));
}

TEST(PostgresRegistryTest, ADatabaseFromANewerSchemaIsRefused) {
  PostgresServer* server = SharedPostgres();
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::string> url = server->NewDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  ASSERT_TRUE(OpenPostgresRegistry(*url).ok());
  {
    // What a newer cloudlet-api would leave.
    PGconn* conn = PQconnectdb(url->c_str());
    PQclear(PQexec(conn, "UPDATE cloudlet_schema SET version = 99"));
    PQfinish(conn);
  }
  absl::StatusOr<std::unique_ptr<FunctionRegistry>> opened =
      OpenPostgresRegistry(*url);
  EXPECT_TRUE(absl::IsUnavailable(opened.status()));
  EXPECT_THAT(opened.status().message(), HasSubstr("newer"));
}

TEST(UnavailableRegistry, FailsEveryCallWithTheReason) {
  std::unique_ptr<FunctionRegistry> registry =
      UnavailableRegistry(absl::UnavailableError("function registry /x: bad"));
  EXPECT_EQ(registry->List().status().message(), "function registry /x: bad");
  EXPECT_TRUE(absl::IsUnavailable(registry->AddVersion("a", {}).status()));
}

}  // namespace
}  // namespace cloudlet::api
