// libpolycsi_attachment_store.so: the attachment store's SQLite code (attachment_store.hpp says
// what it promises), behind attachment_store_library.hpp's table. Loaded by
// AttachmentStore::open; the only part of the driver that links SQLite.
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "attach/attachment_store_library.hpp"

namespace polycsi::attach {

// One open store: a connection and its prepared statements. THREADING: thread-safe (one
// connection behind a mutex).
class SqliteAttachmentStore {
 public:
  static StatusOr<std::unique_ptr<SqliteAttachmentStore>> open(
      const std::string& path, const AttachmentStore::Options& options);
  ~SqliteAttachmentStore();
  SqliteAttachmentStore(const SqliteAttachmentStore&) = delete;
  SqliteAttachmentStore& operator=(const SqliteAttachmentStore&) = delete;

  Status save(const VolumeAttachmentState& state);
  StatusOr<std::vector<VolumeAttachmentState>> loadAll() const;

 private:
  struct Statements;
  SqliteAttachmentStore(sqlite3* db, std::string path);
  // The steps of open() after the database is opened, in order.
  Status setUpJournal(const AttachmentStore::Options& options);  // WAL, synchronous as asked
  Status createOrUpgradeSchema();  // to kSchemaVersion, in one transaction
  Status prepareStatements();
  Status sqliteError(const std::string& what) const;  // caller holds mu_ or is single-threaded

  sqlite3* db_;
  std::string path_;
  std::unique_ptr<Statements> statements_;
  mutable std::mutex mu_;
};

namespace {

// 1: the first schema. 2: node_modes, how each node was published (for ALREADY_EXISTS).
constexpr int kSchemaVersion = 2;

constexpr const char* kCreateSchema = R"sql(
CREATE TABLE IF NOT EXISTS volumes (
  volume_id               TEXT    NOT NULL PRIMARY KEY,
  backend                 TEXT    NOT NULL,
  metrics_prefix          TEXT    NOT NULL,
  semantics               TEXT    NOT NULL,
  nodes                   TEXT    NOT NULL,
  migration_started_at_ms INTEGER NULL,
  migration_timeout_s     INTEGER NOT NULL,
  migration_timed_out     INTEGER NOT NULL,
  pvc_name                TEXT    NOT NULL,
  pvc_namespace           TEXT    NOT NULL,
  node_modes              TEXT    NOT NULL DEFAULT '{}'
);
PRAGMA user_version = 2;
)sql";

// A version 1 store keeps its rows; their publish modes are unknown ('{}').
constexpr const char* kUpgradeFrom1 = R"sql(
ALTER TABLE volumes ADD COLUMN node_modes TEXT NOT NULL DEFAULT '{}';
PRAGMA user_version = 2;
)sql";

constexpr const char* kUpsertSql = R"sql(
INSERT INTO volumes (volume_id, backend, metrics_prefix, semantics, nodes,
                     migration_started_at_ms, migration_timeout_s, migration_timed_out,
                     pvc_name, pvc_namespace, node_modes)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (volume_id) DO UPDATE SET
  backend = excluded.backend, metrics_prefix = excluded.metrics_prefix,
  semantics = excluded.semantics, nodes = excluded.nodes,
  migration_started_at_ms = excluded.migration_started_at_ms,
  migration_timeout_s = excluded.migration_timeout_s,
  migration_timed_out = excluded.migration_timed_out,
  pvc_name = excluded.pvc_name, pvc_namespace = excluded.pvc_namespace,
  node_modes = excluded.node_modes
)sql";

constexpr const char* kDeleteSql = "DELETE FROM volumes WHERE volume_id = ?1";

constexpr const char* kSelectAllSql = R"sql(
SELECT volume_id, backend, metrics_prefix, semantics, nodes, migration_started_at_ms,
       migration_timeout_s, migration_timed_out, pvc_name, pvc_namespace, node_modes
FROM volumes ORDER BY volume_id
)sql";

// Owns one prepared statement; resets it (keeping it prepared) after each use.
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  int prepare(sqlite3* db, const char* sql) {
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement and clears its bindings when a use ends, however it ends.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

StatusOr<AttachSemantics> parseSemantics(const std::string& text) {
  for (auto s :
       {AttachSemantics::kExclusive, AttachSemantics::kShared, AttachSemantics::kMigrationWindow}) {
    if (text == semanticsName(s)) return s;
  }
  return Status(Code::kInternal, "unknown attach semantics \"" + text + "\"");
}

// Why `state` cannot be a stored attachment, or empty when it can.
std::string invalidity(const VolumeAttachmentState& state) {
  if (state.volumeId.empty()) return "empty volume id";
  if (state.semantics != AttachSemantics::kExclusive &&
      state.semantics != AttachSemantics::kShared &&
      state.semantics != AttachSemantics::kMigrationWindow) {
    return std::string("attach semantics ") + semanticsName(state.semantics) +
           " cannot hold attachments";
  }
  std::set<std::string> unique;
  for (const auto& node : state.nodes) {
    if (node.empty()) return "empty node name";
    if (!unique.insert(node).second) return "node " + node + " listed twice";
  }
  if (state.semantics == AttachSemantics::kMigrationWindow && state.migrationTimeout.count() <= 0)
    return "migration timeout is not positive";
  if (state.semantics == AttachSemantics::kExclusive && state.nodes.size() > 1)
    return "exclusive attachment on more than one node";
  if (state.semantics == AttachSemantics::kMigrationWindow && state.nodes.size() > 2)
    return "migration_window attachment on more than two nodes";
  const bool dual = state.semantics == AttachSemantics::kMigrationWindow && state.nodes.size() == 2;
  if (dual && !state.migrationStartedAt) return "two nodes attached without a migration window";
  if (!dual && state.migrationStartedAt) return "migration window without two attached nodes";
  if (!dual && state.migrationTimedOut) return "migration timeout recorded without a window";
  for (const auto& [node, mode] : state.nodeModes) {
    if (unique.count(node) == 0) return "publish mode recorded for unattached node " + node;
    if (mode.empty()) return "empty publish mode for node " + node;
  }
  return {};
}

std::string columnText(sqlite3_stmt* stmt, int column) {
  const auto* text = sqlite3_column_text(stmt, column);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text),
                                       static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

int bindText(sqlite3_stmt* stmt, int index, const std::string& text) {
  return sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                           SQLITE_TRANSIENT);
}

}  // namespace

struct SqliteAttachmentStore::Statements {
  Statement upsert;
  Statement remove;
  Statement selectAll;
};

SqliteAttachmentStore::SqliteAttachmentStore(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), statements_(std::make_unique<Statements>()) {}

SqliteAttachmentStore::~SqliteAttachmentStore() {
  statements_.reset();  // statements must be finalized before the connection closes
  sqlite3_close_v2(db_);
}

Status SqliteAttachmentStore::sqliteError(const std::string& what) const {
  return Status(Code::kInternal, "attachment store " + path_ + ": " + what + ": " +
                                     sqlite3_errmsg(db_) + " (sqlite code " +
                                     std::to_string(sqlite3_extended_errcode(db_)) + ")");
}

StatusOr<std::unique_ptr<SqliteAttachmentStore>> SqliteAttachmentStore::open(
    const std::string& path, const AttachmentStore::Options& options) {
  if (path.empty()) return Status(Code::kInvalidArgument, "attachment store path is empty");
  if (options.busyTimeout.count() < 0)
    return Status(Code::kInvalidArgument, "attachment store busy timeout is negative");

  // SQLite only says "unable to open database file"; name what is missing instead.
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
    return Status(Code::kInternal, "attachment store " + path + ": directory " + parent.string() +
                                       " does not exist or is not a directory");
  }

  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  // The store owns the handle from here on, also on failure (sqlite3_open_v2 may allocate one).
  std::unique_ptr<SqliteAttachmentStore> store(new SqliteAttachmentStore(db, path));
  if (rc != SQLITE_OK) {
    if (db == nullptr) {
      return Status(Code::kInternal,
                    "attachment store " + path + ": cannot open: " + sqlite3_errstr(rc));
    }
    return store->sqliteError("cannot open");
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busyTimeout.count()));
  if (Status journal = store->setUpJournal(options); !journal.isOk()) return journal;
  if (Status schema = store->createOrUpgradeSchema(); !schema.isOk()) return schema;
  if (Status prepared = store->prepareStatements(); !prepared.isOk()) return prepared;
  return store;
}

Status SqliteAttachmentStore::setUpJournal(const AttachmentStore::Options& options) {
  {
    // journal_mode answers with the mode in effect, which is not WAL on filesystems without
    // shared memory support: fail rather than run without the journal we promise.
    Statement journal;
    if (journal.prepare(db_, "PRAGMA journal_mode = WAL") != SQLITE_OK)
      return sqliteError("cannot set WAL journal");
    if (sqlite3_step(journal.get()) != SQLITE_ROW) return sqliteError("cannot set WAL journal");
    const std::string mode = columnText(journal.get(), 0);
    if (mode != "wal") {
      return Status(Code::kInternal, "attachment store " + path_ +
                                         ": cannot use WAL journal (SQLite kept mode \"" + mode +
                                         "\")");
    }
  }
  const char* sync = options.durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF";
  if (sqlite3_exec(db_, sync, nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqliteError("cannot set synchronous mode");
  return Status::ok();
}

Status SqliteAttachmentStore::createOrUpgradeSchema() {
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqliteError("cannot begin schema transaction");
  // The error of `what`, after rolling the schema transaction back.
  const auto rollBack = [this](const std::string& what) {
    Status error = sqliteError(what);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return error;
  };
  int version = 0;
  {
    Statement read;
    if (read.prepare(db_, "PRAGMA user_version") != SQLITE_OK ||
        sqlite3_step(read.get()) != SQLITE_ROW)
      return rollBack("cannot read schema version");
    version = sqlite3_column_int(read.get(), 0);
  }
  if (version > kSchemaVersion) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return Status(Code::kInternal, "attachment store " + path_ + ": schema version " +
                                       std::to_string(version) + " is newer than version " +
                                       std::to_string(kSchemaVersion) +
                                       " that this build understands");
  }
  if (version == 0 && sqlite3_exec(db_, kCreateSchema, nullptr, nullptr, nullptr) != SQLITE_OK)
    return rollBack("cannot create schema");
  if (version == 1 && sqlite3_exec(db_, kUpgradeFrom1, nullptr, nullptr, nullptr) != SQLITE_OK)
    return rollBack("cannot upgrade schema from version 1");
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    return rollBack("cannot commit schema");
  return Status::ok();
}

Status SqliteAttachmentStore::prepareStatements() {
  if (statements_->upsert.prepare(db_, kUpsertSql) != SQLITE_OK)
    return sqliteError("cannot prepare save");
  if (statements_->remove.prepare(db_, kDeleteSql) != SQLITE_OK)
    return sqliteError("cannot prepare delete");
  if (statements_->selectAll.prepare(db_, kSelectAllSql) != SQLITE_OK)
    return sqliteError("cannot prepare load");
  return Status::ok();
}

Status SqliteAttachmentStore::save(const VolumeAttachmentState& state) {
  if (state.volumeId.empty())
    return Status(Code::kInvalidArgument,
                  "attachment store: cannot save a state without volume id");
  if (!state.nodes.empty()) {
    const std::string why = invalidity(state);
    if (!why.empty()) {
      return Status(Code::kInvalidArgument,
                    "attachment store: refusing to save volume " + state.volumeId + ": " + why);
    }
  }

  std::lock_guard lock(mu_);
  if (state.nodes.empty()) {
    sqlite3_stmt* stmt = statements_->remove.get();
    StatementUse use(stmt);
    if (bindText(stmt, 1, state.volumeId) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE)
      return sqliteError("cannot delete volume " + state.volumeId);
    return Status::ok();
  }

  const std::string nodes = nlohmann::json(state.nodes).dump();
  sqlite3_stmt* stmt = statements_->upsert.get();
  StatementUse use(stmt);
  int rc = bindText(stmt, 1, state.volumeId);
  if (rc == SQLITE_OK) rc = bindText(stmt, 2, state.backend);
  if (rc == SQLITE_OK) rc = bindText(stmt, 3, state.metricsPrefix);
  if (rc == SQLITE_OK) rc = bindText(stmt, 4, semanticsName(state.semantics));
  if (rc == SQLITE_OK) rc = bindText(stmt, 5, nodes);
  if (rc == SQLITE_OK) {
    if (state.migrationStartedAt) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          state.migrationStartedAt->time_since_epoch());
      rc = sqlite3_bind_int64(stmt, 6, ms.count());
    } else {
      rc = sqlite3_bind_null(stmt, 6);
    }
  }
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 7, state.migrationTimeout.count());
  if (rc == SQLITE_OK) rc = sqlite3_bind_int(stmt, 8, state.migrationTimedOut ? 1 : 0);
  if (rc == SQLITE_OK) rc = bindText(stmt, 9, state.pvc.name);
  if (rc == SQLITE_OK) rc = bindText(stmt, 10, state.pvc.namespace_);
  if (rc == SQLITE_OK) rc = bindText(stmt, 11, nlohmann::json(state.nodeModes).dump());
  if (rc != SQLITE_OK) return sqliteError("cannot bind volume " + state.volumeId);
  if (sqlite3_step(stmt) != SQLITE_DONE) return sqliteError("cannot save volume " + state.volumeId);
  return Status::ok();
}

StatusOr<std::vector<VolumeAttachmentState>> SqliteAttachmentStore::loadAll() const {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = statements_->selectAll.get();
  StatementUse use(stmt);
  std::vector<VolumeAttachmentState> states;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    VolumeAttachmentState state;
    state.volumeId = columnText(stmt, 0);
    const auto invalid = [&](const std::string& why) {
      return Status(Code::kInternal, "attachment store " + path_ + ": stored volume " +
                                         state.volumeId + " is invalid: " + why);
    };
    state.backend = columnText(stmt, 1);
    state.metricsPrefix = columnText(stmt, 2);
    auto semantics = parseSemantics(columnText(stmt, 3));
    if (!semantics.isOk()) return invalid(semantics.status().message());
    state.semantics = *semantics;

    const auto nodes =
        nlohmann::json::parse(columnText(stmt, 4), nullptr, /*allow_exceptions=*/false);
    if (!nodes.is_array()) return invalid("nodes are not a JSON array");
    for (const auto& node : nodes) {
      if (!node.is_string()) return invalid("a node is not a string");
      state.nodes.push_back(node.get<std::string>());
    }
    if (state.nodes.empty()) return invalid("no attached nodes");

    if (sqlite3_column_type(stmt, 5) != SQLITE_NULL) {
      state.migrationStartedAt =
          Clock::time_point(std::chrono::milliseconds(sqlite3_column_int64(stmt, 5)));
    }
    state.migrationTimeout = std::chrono::seconds(sqlite3_column_int64(stmt, 6));
    const int timedOut = sqlite3_column_int(stmt, 7);
    if (timedOut != 0 && timedOut != 1) return invalid("migration_timed_out is not 0 or 1");
    state.migrationTimedOut = timedOut == 1;
    state.pvc.name = columnText(stmt, 8);
    state.pvc.namespace_ = columnText(stmt, 9);
    const auto modes =
        nlohmann::json::parse(columnText(stmt, 10), nullptr, /*allow_exceptions=*/false);
    if (!modes.is_object()) return invalid("node_modes is not a JSON object");
    for (const auto& [node, mode] : modes.items()) {
      if (!mode.is_string()) return invalid("the publish mode of node " + node + " is not text");
      state.nodeModes[node] = mode.get<std::string>();
    }

    const std::string why = invalidity(state);
    if (!why.empty()) return invalid(why);
    states.push_back(std::move(state));
  }
  if (rc != SQLITE_DONE) return sqliteError("cannot load attachments");
  return states;
}

namespace {

StatusOr<SqliteAttachmentStore*> openStore(const std::string& path,
                                           const AttachmentStore::Options& options) {
  auto store = SqliteAttachmentStore::open(path, options);
  if (!store.isOk()) return store.status();
  return store->release();
}

Status saveState(SqliteAttachmentStore& store, const VolumeAttachmentState& state) {
  return store.save(state);
}

StatusOr<std::vector<VolumeAttachmentState>> loadStates(const SqliteAttachmentStore& store) {
  return store.loadAll();
}

void closeStore(SqliteAttachmentStore* store) { delete store; }

const StoreLibrary kLibrary{sizeof(StoreLibrary), &openStore, &saveState, &loadStates, &closeStore};

}  // namespace
}  // namespace polycsi::attach

__attribute__((visibility("default"))) const polycsi::attach::StoreLibrary*
polycsi_attachment_store_library_v1() {
  return &polycsi::attach::kLibrary;
}
