#ifndef CLOUDLET_TESTS_SUPPORT_POSTGRES_SERVER_H_
#define CLOUDLET_TESTS_SUPPORT_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"

namespace cloudlet::testing {

// A private PostgreSQL 15 server for a test, from Debian's packages
// (postgresql-15; its programs in $CLOUDLET_PG_BINDIR, default
// /usr/lib/postgresql/15/bin): initdb into a temp dir, then postgres on a
// free loopback port, no Unix socket, trust auth, fsync off. initdb refuses
// root, so as root both run as uid/gid 65534 (nobody). Destroying it stops
// the server (fast shutdown) and removes its files.
class PostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();

  // A fresh, empty database on the server; its libpq URI.
  absl::StatusOr<std::string> NewDatabase();
  std::string url(const std::string& database) const;

 private:
  PostgresServer(TempDir dir, ChildProcess server, int port)
      : dir_(std::move(dir)), server_(std::move(server)), port_(port) {}

  TempDir dir_;
  ChildProcess server_;
  int port_;
  int databases_ = 0;
};

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_SUPPORT_POSTGRES_SERVER_H_
