#include "api/functions/sqlite_registry.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/functions/function_name.h"
#include "common/workload_source.h"

namespace cloudlet::api {
namespace {

namespace fs = std::filesystem;

// The schema, one migration per version: migration i takes user_version i
// to i+1. Append only; never edit one that shipped.
const char* const kMigrations[] = {
    // 1: functions and their versions.
    R"sql(
      CREATE TABLE functions (
        name TEXT PRIMARY KEY,
        created_ns INTEGER NOT NULL,
        invocations INTEGER NOT NULL DEFAULT 0,
        last_result BLOB
      );
      CREATE TABLE versions (
        name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        workload BLOB NOT NULL,
        state INTEGER NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        created_ns INTEGER NOT NULL,
        PRIMARY KEY (name, version)
      );
    )sql",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

// How long a writer waits for another process's transaction.
constexpr int kBusyTimeoutMs = 5000;

int64_t NowNs() { return absl::ToUnixNanos(absl::Now()); }

void SetTimestamp(int64_t unix_ns, google::protobuf::Timestamp* out) {
  out->set_seconds(unix_ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(unix_ns % 1000000000));
}

// One prepared statement; finalized when it goes.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  int prepare_rc() const { return rc_; }
  void Bind(int i, absl::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  }
  void BindBlob(int i, const std::string& bytes) {
    sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()),
                      SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? "" : reinterpret_cast<const char*>(text);
  }
  std::string Blob(int column) const {
    const void* blob = sqlite3_column_blob(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    return blob == nullptr ? ""
                           : std::string(static_cast<const char*>(blob), size);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

class SqliteRegistry : public FunctionRegistry {
 public:
  SqliteRegistry(sqlite3* db, fs::path file)
      : db_(db), file_(std::move(file)) {}
  ~SqliteRegistry() override { sqlite3_close_v2(db_); }

  absl::StatusOr<uint64_t> AddVersion(absl::string_view name,
                                      const v1::Workload& workload) override {
    if (absl::Status s = ValidateFunctionName(name); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    // IMMEDIATE: the write lock first, so that two deploys (in any
    // processes) each read the other's version number.
    if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    absl::StatusOr<uint64_t> version = [&]() -> absl::StatusOr<uint64_t> {
      const int64_t now = NowNs();
      Statement insert(db_,
                       "INSERT OR IGNORE INTO functions (name, created_ns) "
                       "VALUES (?, ?)");
      insert.Bind(1, name);
      insert.Bind(2, now);
      if (int rc = insert.Step(); rc != SQLITE_DONE) return Error(rc);
      Statement next(db_,
                     "SELECT COALESCE(MAX(version), 0) + 1 FROM versions "
                     "WHERE name = ?");
      next.Bind(1, name);
      if (int rc = next.Step(); rc != SQLITE_ROW) return Error(rc);
      const int64_t number = next.Int(0);
      Statement add(db_,
                    "INSERT INTO versions (name, version, workload, state, "
                    "created_ns) VALUES (?, ?, ?, ?, ?)");
      add.Bind(1, name);
      add.Bind(2, number);
      add.BindBlob(3, workload.SerializeAsString());
      add.Bind(4, static_cast<int64_t>(v1::BUILD_STATE_BUILDING));
      add.Bind(5, now);
      if (int rc = add.Step(); rc != SQLITE_DONE) return Error(rc);
      return static_cast<uint64_t>(number);
    }();
    return Finish(std::move(version));
  }

  absl::Status SetBuildState(absl::string_view name, uint64_t version,
                             v1::BuildState state,
                             absl::string_view message) override {
    absl::MutexLock lock(&mu_);
    Statement update(db_,
                     "UPDATE versions SET state = ?, message = ? "
                     "WHERE name = ? AND version = ?");
    update.Bind(1, static_cast<int64_t>(state));
    update.Bind(2, message);
    update.Bind(3, name);
    update.Bind(4, static_cast<int64_t>(version));
    if (int rc = update.Step(); rc != SQLITE_DONE) return Error(rc);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<v1::Function>> List() override {
    absl::MutexLock lock(&mu_);
    Statement select(db_, "SELECT name FROM functions ORDER BY name");
    std::vector<std::string> names;
    int rc;
    while ((rc = select.Step()) == SQLITE_ROW) names.push_back(select.Text(0));
    if (rc != SQLITE_DONE) return Error(rc);
    std::vector<v1::Function> functions;
    for (const std::string& name : names) {
      absl::StatusOr<v1::Function> function = Read(name, false);
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
    Statement select(db_,
                     "SELECT version, workload FROM versions WHERE name = ? "
                     "AND state = ? ORDER BY version DESC LIMIT 1");
    select.Bind(1, name);
    select.Bind(2, static_cast<int64_t>(v1::BUILD_STATE_READY));
    int rc = select.Step();
    if (rc == SQLITE_ROW) {
      StoredVersion stored;
      stored.version = static_cast<uint64_t>(select.Int(0));
      if (!stored.workload.ParseFromString(select.Blob(1))) {
        return absl::UnavailableError(
            absl::StrCat("function registry ", file_.string(), ": version ",
                         stored.version, " of ", name, " cannot be read"));
      }
      return stored;
    }
    if (rc != SQLITE_DONE) return Error(rc);
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
    Statement update(db_,
                     "UPDATE functions SET invocations = invocations + 1, "
                     "last_result = ? WHERE name = ?");
    update.BindBlob(1, result.SerializeAsString());
    update.Bind(2, name);
    if (int rc = update.Step(); rc != SQLITE_DONE) return Error(rc);
    return absl::OkStatus();
  }

  absl::Status Delete(absl::string_view name) override {
    if (absl::Status s = ValidateFunctionName(name); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    Statement remove(db_, "DELETE FROM functions WHERE name = ?");
    remove.Bind(1, name);
    if (int rc = remove.Step(); rc != SQLITE_DONE) return Error(rc);
    if (sqlite3_changes(db_) == 0) return NotFound(name);
    return absl::OkStatus();
  }

 private:
  absl::Status NotFound(absl::string_view name) const {
    return absl::NotFoundError(absl::StrCat("no function named ", name));
  }

  // `rc` as a status naming the file: the store failed, not the request.
  absl::Status Error(int rc) const {
    return absl::UnavailableError(absl::StrCat(
        "function registry ", file_.string(), ": ", sqlite3_errstr(rc),
        rc == SQLITE_ERROR ? absl::StrCat(" (", sqlite3_errmsg(db_), ")")
                           : ""));
  }

  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? absl::OkStatus() : Error(rc);
  }

  // Commits when `value` is OK, else rolls back; returns `value`, or the
  // commit's error.
  template <typename T>
  absl::StatusOr<T> Finish(absl::StatusOr<T> value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!value.ok()) {
      (void)Exec("ROLLBACK");
      return value;
    }
    if (absl::Status s = Exec("COMMIT"); !s.ok()) {
      (void)Exec("ROLLBACK");
      return s;
    }
    return value;
  }

  absl::StatusOr<v1::Function> Read(absl::string_view name, bool versions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Statement select(db_,
                     "SELECT created_ns, invocations, last_result FROM "
                     "functions WHERE name = ?");
    select.Bind(1, name);
    int rc = select.Step();
    if (rc == SQLITE_DONE) return NotFound(name);
    if (rc != SQLITE_ROW) return Error(rc);
    v1::Function function;
    function.set_name(std::string(name));
    SetTimestamp(select.Int(0), function.mutable_created());
    function.set_invocations(static_cast<uint64_t>(select.Int(1)));
    if (std::string last = select.Blob(2); !last.empty()) {
      (void)function.mutable_last_result()->ParseFromString(last);
    }
    Statement list(db_,
                   "SELECT version, state, message, created_ns, workload "
                   "FROM versions WHERE name = ? ORDER BY version DESC");
    list.Bind(1, name);
    while ((rc = list.Step()) == SQLITE_ROW) {
      const auto number = static_cast<uint64_t>(list.Int(0));
      const auto state = static_cast<v1::BuildState>(list.Int(1));
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
      version.set_message(list.Text(2));
      SetTimestamp(list.Int(3), version.mutable_created());
      v1::Workload workload;
      if (workload.ParseFromString(list.Blob(4))) {
        version.set_language(workload.language());
        version.set_code_bytes(SourceBytes(workload));
        version.set_release(workload.release());
      }
    }
    if (rc != SQLITE_DONE) return Error(rc);
    return function;
  }

  sqlite3* const db_;
  const fs::path file_;
  // One connection, one call at a time; other processes are kept apart by
  // SQLite's own locks.
  absl::Mutex mu_;
};

// Every call fails with the same status.
class FailingRegistry : public FunctionRegistry {
 public:
  explicit FailingRegistry(absl::Status why) : why_(std::move(why)) {}
  absl::StatusOr<uint64_t> AddVersion(absl::string_view,
                                      const v1::Workload&) override {
    return why_;
  }
  absl::Status SetBuildState(absl::string_view, uint64_t, v1::BuildState,
                             absl::string_view) override {
    return why_;
  }
  absl::StatusOr<std::vector<v1::Function>> List() override { return why_; }
  absl::StatusOr<v1::Function> Get(absl::string_view) override { return why_; }
  absl::StatusOr<StoredVersion> ReadyVersion(absl::string_view) override {
    return why_;
  }
  absl::Status RecordInvocation(absl::string_view,
                                const v1::Result&) override {
    return why_;
  }
  absl::Status Delete(absl::string_view) override { return why_; }

 private:
  const absl::Status why_;
};

absl::Status OpenError(const fs::path& file, absl::string_view why) {
  return absl::UnavailableError(
      absl::StrCat("function registry ", file.string(), ": ", why));
}

// Runs the migrations `db` lacks, in one transaction.
absl::Status Migrate(sqlite3* db, const fs::path& file) {
  auto exec = [&](const char* sql) -> absl::Status {
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
    std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    return rc == SQLITE_OK ? absl::OkStatus() : OpenError(file, message);
  };
  if (absl::Status s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status status = [&]() -> absl::Status {
    Statement read(db, "PRAGMA user_version");
    if (int rc = read.Step(); rc != SQLITE_ROW) {
      return OpenError(file, sqlite3_errstr(rc));
    }
    const int64_t current = read.Int(0);
    if (current > kSchemaVersion) {
      return OpenError(
          file, absl::StrCat("its schema version ", current,
                             " is newer than this cloudlet-api's (",
                             kSchemaVersion, "); upgrade cloudlet-api"));
    }
    for (int64_t v = current; v < kSchemaVersion; ++v) {
      if (absl::Status s = exec(kMigrations[v]); !s.ok()) return s;
    }
    return exec(
        absl::StrCat("PRAGMA user_version = ", kSchemaVersion).c_str());
  }();
  if (!status.ok()) {
    (void)exec("ROLLBACK");
    return status;
  }
  return exec("COMMIT");
}

}  // namespace

absl::StatusOr<std::unique_ptr<FunctionRegistry>> OpenSqliteRegistry(
    const fs::path& file) {
  std::error_code error;
  if (file.has_parent_path()) fs::create_directories(file.parent_path(), error);
  if (error) return OpenError(file, error.message());
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = OpenError(file, sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return status;
  }
  auto fail = [&](absl::Status status) {
    sqlite3_close_v2(db);
    return status;
  };
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  {
    // WAL: readers never wait for the writer, and a killed process loses
    // nothing committed. NORMAL sync is safe in WAL against process death
    // (only a power loss may drop the last commits).
    Statement wal(db, "PRAGMA journal_mode = WAL");
    if (int step = wal.Step(); step != SQLITE_ROW || wal.Text(0) != "wal") {
      return fail(OpenError(
          file, step == SQLITE_ROW
                    ? absl::StrCat("cannot use WAL mode (", wal.Text(0), ")")
                    : std::string(sqlite3_errstr(step))));
    }
  }
  for (const char* pragma :
       {"PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"}) {
    if (int step = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
        step != SQLITE_OK) {
      return fail(OpenError(file, sqlite3_errstr(step)));
    }
  }
  if (absl::Status s = Migrate(db, file); !s.ok()) return fail(s);
  return std::make_unique<SqliteRegistry>(db, file);
}

std::unique_ptr<FunctionRegistry> UnavailableRegistry(absl::Status why) {
  return std::make_unique<FailingRegistry>(std::move(why));
}

}  // namespace cloudlet::api
