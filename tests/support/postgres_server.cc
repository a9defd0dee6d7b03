#include "tests/support/postgres_server.h"

#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/net.h"
#include "common/sync/poll.h"

namespace cloudlet::testing {
namespace {

constexpr uid_t kNobody = 65534;

std::string BinDir() {
  const char* dir = std::getenv("CLOUDLET_PG_BINDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/usr/lib/postgresql/15/bin";
}

// Runs as nobody when we are root (initdb and postgres refuse root).
SpawnOptions AsServerUser(std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.env = std::vector<std::string>{"LC_ALL=C", "PATH=/usr/bin:/bin"};
  if (::geteuid() == 0) {
    options.uid = kNobody;
    options.gid = kNobody;
  }
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-postgres-");
  if (!dir.ok()) return dir.status();
  if (::geteuid() == 0 && ::chown(dir->path().c_str(), kNobody, kNobody) != 0) {
    return absl::InternalError("cannot give the test database dir to nobody");
  }
  const std::string data = (dir->path() / "data").string();
  SpawnOptions initdb = AsServerUser(
      {BinDir() + "/initdb", "--pgdata=" + data, "--username=cloudlet",
       "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"});
  initdb.stderr_to_stdout = true;
  absl::StatusOr<CommandResult> made = RunCommand(initdb, absl::Seconds(60));
  if (!made.ok()) return made.status();
  if (!made->status.success()) {
    return absl::InternalError(
        absl::StrCat("initdb failed (is postgresql-15 installed?): ",
                     made->output));
  }
  absl::StatusOr<uint16_t> port = PickFreeLoopbackPort();
  if (!port.ok()) return port.status();
  SpawnOptions postgres = AsServerUser(
      {BinDir() + "/postgres", "-D", data, "-p", absl::StrCat(*port), "-c",
       "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c",
       "fsync=off", "-c", "full_page_writes=off", "-c",
       "synchronous_commit=off"});
  postgres.stdout_mode = StdioMode::kNull;
  postgres.stderr_mode = StdioMode::kNull;
  absl::StatusOr<ChildProcess> server = ChildProcess::Spawn(postgres);
  if (!server.ok()) return server.status();
  std::unique_ptr<PostgresServer> started(
      new PostgresServer(*std::move(dir), *std::move(server), *port));
  const std::string url = started->url("postgres");
  absl::Status ready = PollUntil(
      "the test PostgreSQL server", absl::Now() + absl::Seconds(30),
      [&]() -> absl::StatusOr<bool> {
        if (started->server_.HasExited()) {
          return absl::InternalError("postgres exited at start");
        }
        return PQping(url.c_str()) == PQPING_OK;
      });
  if (!ready.ok()) return ready;
  return started;
}

PostgresServer::~PostgresServer() {
  // SIGINT: PostgreSQL's fast shutdown.
  (void)server_.SignalGroup(SIGINT);
  if (!server_.WaitFor(absl::Seconds(10)).ok()) server_.Kill();
}

std::string PostgresServer::url(const std::string& database) const {
  return absl::StrCat("postgresql://cloudlet@127.0.0.1:", port_, "/",
                      database);
}

absl::StatusOr<std::string> PostgresServer::NewDatabase() {
  const std::string name = absl::StrCat("test", ++databases_);
  PGconn* conn = PQconnectdb(url("postgres").c_str());
  PGresult* result = PQexec(conn, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string error = PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  if (!ok) return absl::InternalError("CREATE DATABASE failed: " + error);
  return url(name);
}

}  // namespace cloudlet::testing
