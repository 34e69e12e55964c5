#include "attach/attachment_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "test_support.hpp"

namespace polycsi::attach {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

VolumeAttachmentState migratingState() {
  VolumeAttachmentState s;
  s.volumeId = "rds:pvc-1";
  s.backend = "rds";
  s.metricsPrefix = "rds_csi";
  s.semantics = AttachSemantics::kMigrationWindow;
  s.nodes = {"node1", "node2"};
  s.migrationStartedAt = Clock::time_point(std::chrono::milliseconds(1714564800123));
  s.migrationTimeout = std::chrono::seconds(600);
  s.migrationTimedOut = true;
  s.pvc = {"vm-disk", "vms"};
  s.nodeModes = {{"node1", "MULTI_NODE_MULTI_WRITER/block/rw"}};  // node2's is unknown
  return s;
}

std::unique_ptr<AttachmentStore> openOrDie(const std::string& path) {
  auto store = AttachmentStore::open(path);
  EXPECT_TRUE(store.isOk()) << store.status().toString();
  return std::move(store).value();
}

TEST(AttachmentStoreTest, SaveLoadRoundTrip) {
  TempDir dir;
  auto store = openOrDie(dir.file("attach.db"));
  VolumeAttachmentState exclusive;
  exclusive.volumeId = "ps:vol-9";
  exclusive.backend = "ps";
  exclusive.metricsPrefix = "powerstore";
  exclusive.semantics = AttachSemantics::kExclusive;
  exclusive.nodes = {"worker-3"};
  ASSERT_TRUE(store->save(migratingState()).isOk());
  ASSERT_TRUE(store->save(exclusive).isOk());

  auto loaded = store->loadAll();
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0], exclusive);  // ordered by volume id: "ps:" < "rds:"
  EXPECT_EQ((*loaded)[1], migratingState());
}

TEST(AttachmentStoreTest, SaveReplacesAndEmptyNodesDelete) {
  TempDir dir;
  auto store = openOrDie(dir.file("attach.db"));
  auto state = migratingState();
  ASSERT_TRUE(store->save(state).isOk());
  state.nodes = {"node2"};
  state.nodeModes = {{"node2", "SINGLE_NODE_WRITER/block/rw"}};
  state.migrationStartedAt.reset();
  state.migrationTimedOut = false;
  ASSERT_TRUE(store->save(state).isOk());
  auto loaded = store->loadAll();
  ASSERT_TRUE(loaded.isOk());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0], state);

  state.nodes.clear();
  ASSERT_TRUE(store->save(state).isOk());
  ASSERT_TRUE(store->save(state).isOk()) << "deleting what is gone is fine";
  loaded = store->loadAll();
  ASSERT_TRUE(loaded.isOk());
  EXPECT_TRUE(loaded->empty());
}

TEST(AttachmentStoreTest, ReopenPreservesMigrationStartToTheMillisecond) {
  TempDir dir;
  const auto path = dir.file("attach.db");
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store->save(migratingState()).isOk());
  }
  auto store = openOrDie(path);
  auto loaded = store->loadAll();
  ASSERT_TRUE(loaded.isOk());
  ASSERT_EQ(loaded->size(), 1u);
  ASSERT_TRUE((*loaded)[0].migrationStartedAt.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(
                (*loaded)[0].migrationStartedAt->time_since_epoch())
                .count(),
            1714564800123);
  EXPECT_EQ((*loaded)[0], migratingState());
}

TEST(AttachmentStoreTest, UsesWalAndRecordsSchemaVersion) {
  TempDir dir;
  const auto path = dir.file("attach.db");
  openOrDie(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto pragma = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    std::string value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return value;
  };
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma("PRAGMA user_version"), "2");
  sqlite3_close(db);
}

// The first schema, as a store written by an earlier release holds it.
TEST(AttachmentStoreTest, VersionOneStoreIsUpgradedKeepingItsAttachments) {
  TempDir dir;
  const auto path = dir.file("attach.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, R"sql(
    CREATE TABLE volumes (
      volume_id TEXT NOT NULL PRIMARY KEY, backend TEXT NOT NULL, metrics_prefix TEXT NOT NULL,
      semantics TEXT NOT NULL, nodes TEXT NOT NULL, migration_started_at_ms INTEGER NULL,
      migration_timeout_s INTEGER NOT NULL, migration_timed_out INTEGER NOT NULL,
      pvc_name TEXT NOT NULL, pvc_namespace TEXT NOT NULL);
    INSERT INTO volumes VALUES ('rds:pvc-1', 'rds', 'rds_csi', 'migration_window',
      '["node1","node2"]', 1714564800123, 600, 0, 'vm-disk', 'vms');
    PRAGMA user_version = 1;)sql",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = openOrDie(path);
  auto loaded = store->loadAll();
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  ASSERT_EQ(loaded->size(), 1u);
  auto expected = migratingState();
  expected.migrationTimedOut = false;
  expected.nodeModes.clear();  // unknown for attachments of the first schema
  EXPECT_EQ((*loaded)[0], expected);
  // And it keeps modes from now on.
  ASSERT_TRUE(store->save(migratingState()).isOk());
  store.reset();
  auto reopened = openOrDie(path);
  auto again = reopened->loadAll();
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ((*again)[0], migratingState());
}

TEST(AttachmentStoreTest, MissingDirectoryErrorNamesThePath) {
  TempDir dir;
  const auto path = dir.file("no-such-dir/attach.db");
  auto store = AttachmentStore::open(path);
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), Code::kInternal);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_THAT(store.status().message(), HasSubstr(dir.file("no-such-dir")));
}

TEST(AttachmentStoreTest, UnopenableFileErrorNamesThePath) {
  TempDir dir;
  const auto path = dir.file("a-directory");
  std::filesystem::create_directory(path);
  auto store = AttachmentStore::open(path);
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), Code::kInternal);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST(AttachmentStoreTest, EmptyPathIsInvalid) {
  auto store = AttachmentStore::open("");
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), Code::kInvalidArgument);
}

TEST(AttachmentStoreTest, NewerSchemaIsRefused) {
  TempDir dir;
  const auto path = dir.file("attach.db");
  openOrDie(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = AttachmentStore::open(path);
  ASSERT_FALSE(store.isOk());
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 7"));
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST(AttachmentStoreTest, InvalidStatesAreNotSaved) {
  TempDir dir;
  auto store = openOrDie(dir.file("attach.db"));
  auto threeNodes = migratingState();
  threeNodes.nodes.push_back("node3");
  EXPECT_EQ(store->save(threeNodes).code(), Code::kInvalidArgument);
  auto noWindow = migratingState();
  noWindow.migrationStartedAt.reset();
  EXPECT_EQ(store->save(noWindow).code(), Code::kInvalidArgument);
  VolumeAttachmentState exclusiveTwo;
  exclusiveTwo.volumeId = "v";
  exclusiveTwo.nodes = {"a", "b"};
  EXPECT_EQ(store->save(exclusiveTwo).code(), Code::kInvalidArgument);
  auto modeOfStranger = migratingState();
  modeOfStranger.nodeModes["node9"] = "SINGLE_NODE_WRITER/block/rw";
  EXPECT_EQ(store->save(modeOfStranger).code(), Code::kInvalidArgument);
  auto loaded = store->loadAll();
  ASSERT_TRUE(loaded.isOk());
  EXPECT_TRUE(loaded->empty());
}

TEST(AttachmentStoreTest, CorruptRowIsReportedWithTheVolume) {
  TempDir dir;
  const auto path = dir.file("attach.db");
  auto store = openOrDie(path);
  ASSERT_TRUE(store->save(migratingState()).isOk());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE volumes SET nodes = 'not json'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto loaded = store->loadAll();
  ASSERT_FALSE(loaded.isOk());
  EXPECT_EQ(loaded.status().code(), Code::kInternal);
  EXPECT_THAT(loaded.status().message(), HasSubstr("rds:pvc-1"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("JSON"));
}

TEST(AttachmentStoreTest, HostileTextIsStoredVerbatim) {
  TempDir dir;
  auto store = openOrDie(dir.file("attach.db"));
  auto state = migratingState();
  state.volumeId = "x'); DROP TABLE volumes; --";
  state.nodes = {"n\"1", "n,2\n"};
  state.nodeModes = {{"n,2\n", "x'); DROP TABLE volumes; --"}};
  state.pvc = {"a'b", "\"ns\""};
  ASSERT_TRUE(store->save(state).isOk());
  auto loaded = store->loadAll();
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0], state);
}

TEST(AttachmentStoreTest, LockedDatabaseFailsSaveWithThePath) {
  TempDir dir;
  const auto path = dir.file("attach.db");
  AttachmentStore::Options options;
  options.busyTimeout = std::chrono::milliseconds(0);
  auto opened = AttachmentStore::open(path, options);
  ASSERT_TRUE(opened.isOk());
  auto store = std::move(opened).value();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  Status saved = store->save(migratingState());
  EXPECT_EQ(saved.code(), Code::kInternal);
  EXPECT_THAT(saved.message(), HasSubstr(path));
  EXPECT_THAT(saved.message(), HasSubstr("rds:pvc-1"));
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE(store->save(migratingState()).isOk()) << "recovers once the lock is gone";
}

}  // namespace
}  // namespace polycsi::attach
