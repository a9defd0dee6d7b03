#include "api/functions/postgres_registry.h"

#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/functions/function_name.h"
#include "common/workload_source.h"

namespace cloudlet::api {
namespace {

// The schema, one migration per version: migration i takes the schema
// from version i to i+1. Append only; never edit one that shipped. The
// tables are the SQLite registry's, in PostgreSQL's types.
const char* const kMigrations[] = {
    // 1: functions and their versions.
    R"sql(
      CREATE TABLE functions (
        name TEXT PRIMARY KEY,
        created_ns BIGINT NOT NULL,
        invocations BIGINT NOT NULL DEFAULT 0,
        last_result BYTEA
      );
      CREATE TABLE versions (
        name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        version BIGINT NOT NULL,
        workload BYTEA NOT NULL,
        state INTEGER NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        created_ns BIGINT NOT NULL,
        PRIMARY KEY (name, version)
      );
    )sql",
};
constexpr int64_t kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);
// pg_advisory_xact_lock key of the migrations ("cloudlet" in ASCII).
constexpr char kMigrationLock[] = "7166953155475121268";

int64_t NowNs() { return absl::ToUnixNanos(absl::Now()); }

void SetTimestamp(int64_t unix_ns, google::protobuf::Timestamp* out) {
  out->set_seconds(unix_ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(unix_ns % 1000000000));
}

// A parameter of a statement: text, or bytes sent in binary (BYTEA).
struct Param {
  Param(absl::string_view text_in)  // NOLINT(google-explicit-constructor)
      : value(text_in) {}
  Param(int64_t number)  // NOLINT(google-explicit-constructor)
      : value(absl::StrCat(number)) {}
  static Param Bytes(std::string bytes) {
    Param param{absl::string_view()};
    param.value = std::move(bytes);
    param.binary = true;
    return param;
  }
  std::string value;
  bool binary = false;
};

// One result; cleared when it goes.
class Result {
 public:
  explicit Result(PGresult* result) : result_(result) {}
  Result(Result&& other) noexcept
      : result_(std::exchange(other.result_, nullptr)) {}
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;
  ~Result() { PQclear(result_); }

  bool ok() const {
    ExecStatusType status = PQresultStatus(result_);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  }
  std::string error() const { return PQresultErrorMessage(result_); }
  int rows() const { return PQntuples(result_); }
  int64_t affected() const {
    int64_t count = 0;
    return absl::SimpleAtoi(PQcmdTuples(result_), &count) ? count : 0;
  }
  int64_t Int(int row, int column) const {
    int64_t value = 0;
    (void)absl::SimpleAtoi(PQgetvalue(result_, row, column), &value);
    return value;
  }
  std::string Text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column),
                       PQgetlength(result_, row, column));
  }
  // A BYTEA column (text format: "\x..." hex) as bytes; "" for NULL.
  std::string Bytes(int row, int column) const {
    if (PQgetisnull(result_, row, column)) return "";
    size_t size = 0;
    unsigned char* bytes = PQunescapeBytea(
        reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column)),
        &size);
    if (bytes == nullptr) return "";
    std::string out(reinterpret_cast<const char*>(bytes), size);
    PQfreemem(bytes);
    return out;
  }

 private:
  PGresult* result_;
};

// "db.example:5432/cloudlet": where the server is, for messages (never
// the password or other options of the URL).
std::string ServerName(PGconn* conn) {
  if (conn == nullptr) return "PostgreSQL";
  return absl::StrCat("PostgreSQL at ", PQhost(conn) ? PQhost(conn) : "?", ":",
                      PQport(conn) ? PQport(conn) : "?", "/",
                      PQdb(conn) ? PQdb(conn) : "?");
}

class PostgresRegistry : public FunctionRegistry {
 public:
  explicit PostgresRegistry(PGconn* conn) : conn_(conn) {}
  ~PostgresRegistry() override { PQfinish(conn_); }

  absl::StatusOr<uint64_t> AddVersion(absl::string_view name,
                                      const v1::Workload& workload) override {
    if (absl::Status s = ValidateFunctionName(name); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    return InTransaction<uint64_t>([&]() -> absl::StatusOr<uint64_t> {
      const int64_t now = NowNs();
      if (absl::StatusOr<Result> r = Exec(
              "INSERT INTO functions (name, created_ns) VALUES ($1, $2) "
              "ON CONFLICT (name) DO NOTHING",
              {name, now});
          !r.ok()) {
        return r.status();
      }
      // The function's row, locked: two deploys of one name (from any
      // replica) take turns, and each reads the other's version number.
      if (absl::StatusOr<Result> r = Exec(
              "SELECT name FROM functions WHERE name = $1 FOR UPDATE", {name});
          !r.ok()) {
        return r.status();
      }
      absl::StatusOr<Result> next = Exec(
          "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE name = $1",
          {name});
      if (!next.ok()) return next.status();
      const int64_t number = next->Int(0, 0);
      if (absl::StatusOr<Result> r = Exec(
              "INSERT INTO versions (name, version, workload, state, "
              "created_ns) VALUES ($1, $2, $3, $4, $5)",
              {name, number, Param::Bytes(workload.SerializeAsString()),
               static_cast<int64_t>(v1::BUILD_STATE_BUILDING), now});
          !r.ok()) {
        return r.status();
      }
      return static_cast<uint64_t>(number);
    });
  }

  absl::Status SetBuildState(absl::string_view name, uint64_t version,
                             v1::BuildState state,
                             absl::string_view message) override {
    absl::MutexLock lock(&mu_);
    return Exec(
               "UPDATE versions SET state = $1, message = $2 "
               "WHERE name = $3 AND version = $4",
               {static_cast<int64_t>(state), message, name,
                static_cast<int64_t>(version)})
        .status();
  }

  absl::StatusOr<std::vector<v1::Function>> List() override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> names =
        Exec("SELECT name FROM functions ORDER BY name", {});
    if (!names.ok()) return names.status();
    std::vector<v1::Function> functions;
    for (int row = 0; row < names->rows(); ++row) {
      absl::StatusOr<v1::Function> function = Read(names->Text(row, 0), false);
      if (absl::IsNotFound(function.status())) continue;  // just deleted
      if (!function.ok()) return function.status();
      functions.push_back(*std::move(function));
    }
    return functions;
  }

  absl::StatusOr<v1::Function> Get(absl::string_view name) override {
    if (absl::Status s = ValidateFunctionName(name); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    return Read(name, true);
  }

  absl::StatusOr<StoredVersion> ReadyVersion(absl::string_view name) override {
    if (absl::Status s = ValidateFunctionName(name); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> ready = Exec(
        "SELECT version, workload FROM versions WHERE name = $1 AND state = $2 "
        "ORDER BY version DESC LIMIT 1",
        {name, static_cast<int64_t>(v1::BUILD_STATE_READY)});
    if (!ready.ok()) return ready.status();
    if (ready->rows() == 1) {
      StoredVersion stored;
      stored.version = static_cast<uint64_t>(ready->Int(0, 0));
      if (!stored.workload.ParseFromString(ready->Bytes(0, 1))) {
        return absl::UnavailableError(absl::StrCat(
            "function registry ", ServerName(conn_), ": version ",
            stored.version, " of ", name, " cannot be read"));
      }
      return stored;
    }
    absl::StatusOr<v1::Function> function = Read(name, false);
    if (!function.ok()) return function.status();
    return absl::FailedPreconditionError(absl::StrCat(
        "function ", name, " has no built version yet: version ",
        function->latest_version(), " is ",
        v1::BuildState_Name(function->latest_state())));
  }

  absl::Status RecordInvocation(absl::string_view name,
                                const v1::Result& result) override {
    absl::MutexLock lock(&mu_);
    return Exec(
               "UPDATE functions SET invocations = invocations + 1, "
               "last_result = $1 WHERE name = $2",
               {Param::Bytes(result.SerializeAsString()), name})
        .status();
  }

  absl::Status Delete(absl::string_view name) override {
    if (absl::Status s = ValidateFunctionName(name); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> removed =
        Exec("DELETE FROM functions WHERE name = $1", {name});
    if (!removed.ok()) return removed.status();
    if (removed->affected() == 0) return NotFound(name);
    return absl::OkStatus();
  }

 private:
  absl::Status NotFound(absl::string_view name) const {
    return absl::NotFoundError(absl::StrCat("no function named ", name));
  }

  // Runs one statement; Unavailable naming the server when it fails. A
  // connection the server dropped is reset once first (outside a
  // transaction only: one that broke mid-way is the caller's to fail).
  absl::StatusOr<Result> Exec(const char* sql, const std::vector<Param>& params)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (PQstatus(conn_) != CONNECTION_OK && !in_transaction_) PQreset(conn_);
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (const Param& param : params) {
      values.push_back(param.value.data());
      lengths.push_back(static_cast<int>(param.value.size()));
      formats.push_back(param.binary ? 1 : 0);
    }
    Result result(PQexecParams(conn_, sql, static_cast<int>(params.size()),
                               nullptr, values.data(), lengths.data(),
                               formats.data(), /*resultFormat=*/0));
    if (!result.ok()) {
      return absl::UnavailableError(
          absl::StrCat("function registry ", ServerName(conn_), ": ",
                       result.error()));
    }
    return result;
  }

  // Runs `body` in one transaction: committed when it returns OK, rolled
  // back otherwise.
  template <typename T>
  absl::StatusOr<T> InTransaction(
      const std::function<absl::StatusOr<T>()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (absl::StatusOr<Result> begin = Exec("BEGIN", {}); !begin.ok()) {
      return begin.status();
    }
    in_transaction_ = true;
    absl::StatusOr<T> value = body();
    absl::StatusOr<Result> end = Exec(value.ok() ? "COMMIT" : "ROLLBACK", {});
    in_transaction_ = false;
    if (!value.ok()) return value;
    if (!end.ok()) return end.status();
    return value;
  }

  absl::StatusOr<v1::Function> Read(absl::string_view name, bool versions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<Result> head = Exec(
        "SELECT created_ns, invocations, last_result FROM functions "
        "WHERE name = $1",
        {name});
    if (!head.ok()) return head.status();
    if (head->rows() == 0) return NotFound(name);
    v1::Function function;
    function.set_name(std::string(name));
    SetTimestamp(head->Int(0, 0), function.mutable_created());
    function.set_invocations(static_cast<uint64_t>(head->Int(0, 1)));
    if (std::string last = head->Bytes(0, 2); !last.empty()) {
      (void)function.mutable_last_result()->ParseFromString(last);
    }
    absl::StatusOr<Result> list = Exec(
        versions ? "SELECT version, state, message, created_ns, workload "
                   "FROM versions WHERE name = $1 ORDER BY version DESC"
                 : "SELECT version, state FROM versions WHERE name = $1 "
                   "ORDER BY version DESC",
        {name});
    if (!list.ok()) return list.status();
    for (int row = 0; row < list->rows(); ++row) {
      const auto number = static_cast<uint64_t>(list->Int(row, 0));
      const auto state = static_cast<v1::BuildState>(list->Int(row, 1));
      if (function.latest_version() == 0) {
        function.set_latest_version(number);
        function.set_latest_state(state);
      }
      if (state == v1::BUILD_STATE_READY && function.ready_version() == 0) {
        function.set_ready_version(number);
      }
      if (!versions) continue;
      v1::FunctionVersion& version = *function.add_versions();
      version.set_version(number);
      version.set_state(state);
      version.set_message(list->Text(row, 2));
      SetTimestamp(list->Int(row, 3), version.mutable_created());
      v1::Workload workload;
      if (workload.ParseFromString(list->Bytes(row, 4))) {
        version.set_language(workload.language());
        version.set_code_bytes(SourceBytes(workload));
        version.set_release(workload.release());
      }
    }
    return function;
  }

  PGconn* const conn_;
  // One connection, one call at a time; replicas are kept apart by the
  // server's transactions and row locks.
  absl::Mutex mu_;
  bool in_transaction_ ABSL_GUARDED_BY(mu_) = false;
};

absl::Status OpenError(PGconn* conn, absl::string_view why) {
  return absl::UnavailableError(
      absl::StrCat("function registry ", ServerName(conn), ": ", why));
}

// Runs the migrations the database lacks, in one transaction, under an
// advisory lock so that replicas starting together migrate once.
absl::Status Migrate(PGconn* conn) {
  auto exec = [&](const std::string& sql) -> absl::StatusOr<Result> {
    Result result(PQexec(conn, sql.c_str()));
    if (!result.ok()) return OpenError(conn, result.error());
    return result;
  };
  if (absl::StatusOr<Result> r = exec("BEGIN"); !r.ok()) return r.status();
  absl::Status status = [&]() -> absl::Status {
    for (const std::string& sql :
         {absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLock, ")"),
          std::string("CREATE TABLE IF NOT EXISTS cloudlet_schema "
                      "(version BIGINT NOT NULL)")}) {
      if (absl::StatusOr<Result> r = exec(sql); !r.ok()) return r.status();
    }
    absl::StatusOr<Result> read = exec("SELECT version FROM cloudlet_schema");
    if (!read.ok()) return read.status();
    const bool fresh = read->rows() == 0;
    const int64_t current = fresh ? 0 : read->Int(0, 0);
    if (current > kSchemaVersion) {
      return OpenError(conn, absl::StrCat("its schema version ", current,
                                          " is newer than this cloudlet-api's "
                                          "(",
                                          kSchemaVersion,
                                          "); upgrade cloudlet-api"));
    }
    for (int64_t v = current; v < kSchemaVersion; ++v) {
      if (absl::StatusOr<Result> r = exec(kMigrations[v]); !r.ok()) {
        return r.status();
      }
    }
    return exec(fresh ? absl::StrCat("INSERT INTO cloudlet_schema VALUES (",
                                     kSchemaVersion, ")")
                      : absl::StrCat("UPDATE cloudlet_schema SET version = ",
                                     kSchemaVersion))
        .status();
  }();
  if (!status.ok()) {
    (void)exec("ROLLBACK");
    return status;
  }
  return exec("COMMIT").status();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FunctionRegistry>> OpenPostgresRegistry(
    const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return OpenError(nullptr, "out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status status = OpenError(conn, PQerrorMessage(conn));
    PQfinish(conn);
    return status;
  }
  if (absl::Status s = Migrate(conn); !s.ok()) {
    PQfinish(conn);
    return s;
  }
  return std::make_unique<PostgresRegistry>(conn);
}

}  // namespace cloudlet::api
