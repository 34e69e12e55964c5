// The loader against real shared objects, most of them broken on purpose (see fixtures/).
#include "plugin_host/plugin_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "polycsi/testing/fake_host.hpp"

namespace polycsi::plugin_host {
namespace {

using ::testing::HasSubstr;

const std::string kDir = POLYCSI_TEST_PLUGIN_DIR;

std::string fixture(const std::string& name) { return pluginPath(kDir, name); }

// The refusal message for a fixture; fails the test when the fixture is accepted or the refusal
// is not FAILED_PRECONDITION naming the file.
std::string refusalOf(const std::string& name) {
  auto plugin = loadPlugin(fixture(name));
  if (plugin.isOk()) {
    ADD_FAILURE() << name << " was accepted";
    return "";
  }
  EXPECT_EQ(plugin.status().code(), Code::kFailedPrecondition) << plugin.status().toString();
  EXPECT_THAT(plugin.status().message(), HasSubstr(fixture(name)));
  return plugin.status().message();
}

TEST(PluginPathTest, NamesTheFile) {
  EXPECT_EQ(pluginPath("/usr/lib/polycsi/plugins", "rds_nvme"),
            "/usr/lib/polycsi/plugins/polycsi_rds_nvme.so");
  EXPECT_EQ(pluginNameOfFile("/x/polycsi_rds_nvme.so"), "rds_nvme");
  EXPECT_EQ(pluginNameOfFile("/x/polycsi_.so"), "");
  EXPECT_EQ(pluginNameOfFile("/x/libpolycsi_rds.so"), "");
  EXPECT_EQ(pluginNameOfFile("/x/polycsi_rds.so.1"), "");
}

// ABI 1.3 (modify volume): a mutable parameter reads as mutable and modify_volume as a
// feature; the same plugin built against 1.2 loads with neither; marking a parameter mutable
// without modify_volume is refused.
TEST(LoadPluginTest, MutableParametersNeedModifyVolumeAndA13Plugin) {
  auto current = loadPlugin(fixture("modify"));
  ASSERT_TRUE(current.isOk()) << current.status().toString();
  ASSERT_EQ((*current)->descriptor().parameters.size(), 2u);
  EXPECT_FALSE((*current)->descriptor().parameters[0].isMutable);
  EXPECT_TRUE((*current)->descriptor().parameters[1].isMutable);
  EXPECT_TRUE((*current)->features().modifyVolume);

  auto older = loadPlugin(fixture("abi_1_2_modify"));
  ASSERT_TRUE(older.isOk()) << older.status().toString();
  EXPECT_EQ((*older)->abiVersion(), "1.2");
  for (const auto& p : (*older)->descriptor().parameters) EXPECT_FALSE(p.isMutable) << p.name;
  EXPECT_FALSE((*older)->features().modifyVolume);

  EXPECT_THAT(refusalOf("mutable_without_modify"),
              HasSubstr("parameter 'iops' is marked mutable but the plugin has no modify_volume"));
}

// ABI 1.4 (crash-consistent group snapshots): a plugin with the group calls has them as a
// feature and they answer; the same plugin built against 1.3 loads without them (the pointers
// past its struct_size are not read), so the core's test for the one-call path
// (features().groupSnapshotCall) is false and its groups are taken one create_snapshot per member,
// which still works.
TEST(LoadPluginTest, AnAbi13PluginKeepsThePerVolumeGroupPath) {
  polycsi::testing::FakeHost host;
  const CreateGroupSnapshotRequest group{.groupSnapshotId = "grp-1",
                                         .members = {{"grp-1-m0", "vol-a"}, {"grp-1-m1", "vol-b"}}};

  auto current = loadPlugin(fixture("group_call"));
  ASSERT_TRUE(current.isOk()) << current.status().toString();
  EXPECT_EQ((*current)->abiVersion(), "1.4");
  EXPECT_TRUE((*current)->features().groupSnapshotCall);
  auto instance = host.start((*current)->table(), InstanceConfig{.instanceName = "new"});
  ASSERT_TRUE(instance.isOk()) << instance.status().toString();
  auto taken = (*instance)->createGroupSnapshot(group);
  ASSERT_TRUE(taken.isOk()) << taken.status().toString();
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[1].id, "in-one-call-grp-1-m1");
  EXPECT_EQ((*taken)[1].groupSnapshotId, "grp-1");

  auto older = loadPlugin(fixture("abi_1_3_group"));
  ASSERT_TRUE(older.isOk()) << older.status().toString();
  const LoadedPlugin& p = **older;
  EXPECT_EQ(p.abiVersion(), "1.3");
  EXPECT_EQ(p.descriptor().groupSnapshotConsistency, GroupConsistency::kCrashConsistent);
  EXPECT_TRUE(p.features().snapshots);
  EXPECT_FALSE(p.features().groupSnapshotCall);
  auto oldInstance = host.start(p.table(), InstanceConfig{.instanceName = "old"});
  ASSERT_TRUE(oldInstance.isOk()) << oldInstance.status().toString();
  EXPECT_EQ((*oldInstance)->createGroupSnapshot(group).status().code(), Code::kUnimplemented);
  EXPECT_EQ((*oldInstance)->deleteGroupSnapshot({.groupSnapshotId = "grp-1"}).code(),
            Code::kUnimplemented);
  auto member =
      (*oldInstance)
          ->createSnapshot(
              {.name = "grp-1-m0", .sourceVolumeId = "vol-a", .groupSnapshotId = "grp-1"});
  ASSERT_TRUE(member.isOk()) << member.status().toString();
  EXPECT_EQ(member->id, "one-by-one-grp-1-m0");
  EXPECT_EQ(member->groupSnapshotId, "grp-1");
}

TEST(PluginPathTest, DefaultDirIsBesideTheExecutable) {
  const auto exe = std::filesystem::read_symlink("/proc/self/exe");
  EXPECT_EQ(defaultPluginDir().value(), (exe.parent_path().parent_path() / "plugins").string());
}

TEST(LoadPluginTest, LoadsAGoodPlugin) {
  auto plugin = loadPlugin(fixture("good"));
  ASSERT_TRUE(plugin.isOk()) << plugin.status().toString();
  const LoadedPlugin& p = **plugin;
  EXPECT_EQ(p.path(), fixture("good"));
  EXPECT_EQ(p.abiVersion(), "1.4");
  EXPECT_EQ(p.descriptor().name, "good");
  EXPECT_EQ(p.descriptor().metricsPrefix, "fixture_good");
  EXPECT_EQ(p.descriptor().nodeIdentityKind, "fixture host id");
  ASSERT_EQ(p.descriptor().settings.size(), 5u);
  EXPECT_EQ(p.descriptor().settings[0].name, "address");
  EXPECT_TRUE(p.descriptor().settings[0].required);
  EXPECT_EQ(p.descriptor().semanticsFor(AccessMode::kMultiNodeMultiWriter, VolumeMode::kBlock),
            AttachSemantics::kMigrationWindow);
  EXPECT_FALSE(p.features().snapshots);
  EXPECT_NE(p.table()->attach, nullptr);
}

TEST(LoadPluginTest, RefusesAMissingFile) {
  EXPECT_EQ(refusalOf("does_not_exist"), "plugin " + fixture("does_not_exist") + ": no such file");
}

TEST(LoadPluginTest, RefusesAFileThatIsNotASharedObject) {
  EXPECT_THAT(refusalOf("not_elf"), HasSubstr("cannot be loaded as a shared object"));
}

TEST(LoadPluginTest, RefusesAFileWithoutTheEntrySymbol) {
  EXPECT_THAT(refusalOf("no_entry"), HasSubstr("does not export polycsi_plugin_entry"));
}

TEST(LoadPluginTest, RefusesADifferentAbiMajorNamingBothVersions) {
  EXPECT_THAT(refusalOf("abi_major"),
              HasSubstr("plugin ABI 2.0 is incompatible with host ABI 1.4"));
}

TEST(LoadPluginTest, RefusesANewerAbiMinorNamingBothVersions) {
  EXPECT_THAT(refusalOf("abi_minor"),
              HasSubstr("plugin ABI 1.5 is incompatible with host ABI 1.4"));
}

// A plugin built against an older header has a shorter table: it loads, and the optional
// members past its struct_size are absent even though memory beyond the table is not zero.
// Likewise descriptor members of a newer minor are not read from it.
// ABI 1.3 appended find_volume: a plugin built for 1.2 loads, and the member is absent even
// though its backend implements it (the pointer sits past its struct_size).
TEST(LoadPluginTest, AnAbi12PluginHasNoFindVolume) {
  auto plugin = loadPlugin(fixture("abi_1_2"));
  ASSERT_TRUE(plugin.isOk()) << plugin.status().toString();
  const LoadedPlugin& p = **plugin;
  EXPECT_EQ(p.abiVersion(), "1.2");
  EXPECT_FALSE(p.features().findVolume);
  EXPECT_EQ(p.table()->find_volume, nullptr);
  polycsi::testing::FakeHost host;
  auto instance = host.start(p.table(), InstanceConfig{.instanceName = "old"});
  ASSERT_TRUE(instance.isOk()) << instance.status().toString();
  auto found = (*instance)->findVolume(FindVolumeRequest{.name = "pvc-1"});
  EXPECT_EQ(found.status().code(), Code::kUnimplemented) << found.status().toString();
}

TEST(LoadPluginTest, LoadsAShorterTableBuiltAgainstAnOlderHeader) {
  auto plugin = loadPlugin(fixture("abi_older_table"));
  ASSERT_TRUE(plugin.isOk()) << plugin.status().toString();
  const LoadedPlugin& p = **plugin;
  EXPECT_EQ(p.table()->volume_condition, nullptr);
  EXPECT_EQ(p.table()->node_expand, nullptr);
  EXPECT_NE(p.table()->detach, nullptr);
  EXPECT_FALSE(p.features().volumeCondition);
  EXPECT_FALSE(PluginFeatures::of(p.table()).volumeCondition);
  EXPECT_EQ(p.abiVersion(), "1.0");
  EXPECT_EQ(p.descriptor().nodeIdentityKind, "");
  EXPECT_EQ(p.descriptor().groupSnapshotConsistency, GroupConsistency::kNone);

  polycsi::testing::FakeHost host;
  auto instance = host.start(p.table(), InstanceConfig{.instanceName = "old"});
  ASSERT_TRUE(instance.isOk()) << instance.status().toString();
  auto volume = (*instance)->createVolume(CreateVolumeRequest{.name = "pvc-1"});
  ASSERT_TRUE(volume.isOk()) << volume.status().toString();
  EXPECT_EQ(volume->id, "vol-pvc-1");
  // Healthy by default: the plugin's own volumeCondition (which says abnormal) is not called.
  auto condition = (*instance)->volumeCondition(DetachRequest{.volumeId = "vol-pvc-1"});
  ASSERT_TRUE(condition.isOk());
  EXPECT_FALSE(condition->abnormal);
}

// describe() is plugin code: an exception it throws stays inside the plugin (the SDK turns it
// into NULL plus describe_error), and the loader refuses the plugin naming the file and the
// exception's text.
TEST(LoadPluginTest, RefusesAPluginWhoseDescribeThrowsWithTheExceptionsText) {
  EXPECT_THAT(refusalOf("throwing_describe"),
              HasSubstr("describe() failed: the capability table in fixture.yaml is unreadable"));
}

TEST(LoadPluginTest, AThrowingDescribeReturnsNullWithoutThrowingAcrossTheBoundary) {
  boost::dll::shared_library library(boost::dll::fs::path(fixture("throwing_describe")),
                                     boost::dll::load_mode::rtld_local);
  const polycsi_plugin_api* table =
      library.get<const polycsi_plugin_api*()>(POLYCSI_PLUGIN_ENTRY_SYMBOL)();
  ASSERT_NE(table->describe_error, nullptr);
  const polycsi_descriptor* descriptor = nullptr;
  EXPECT_NO_THROW(descriptor = table->describe());
  EXPECT_EQ(descriptor, nullptr);
  EXPECT_EQ(abi::toString(table->describe_error()),
            "the capability table in fixture.yaml is unreadable");
}

TEST(LoadPluginTest, RefusesATableThatEndsBeforeARequiredMember) {
  EXPECT_THAT(refusalOf("table_too_short"), HasSubstr("function table is truncated"));
  EXPECT_THAT(refusalOf("table_too_short"), HasSubstr("'detach'"));
}

TEST(LoadPluginTest, RefusesAPluginMissingARequiredFunction) {
  EXPECT_THAT(refusalOf("missing_attach"), HasSubstr("required function 'attach' is missing"));
}

TEST(LoadPluginTest, RefusesADescriptorNamedDifferentlyThanItsFile) {
  EXPECT_THAT(refusalOf("name_mismatch"),
              HasSubstr("descriptor name 'someone_else' does not match the file's plugin name "
                        "'name_mismatch'"));
}

TEST(LoadPluginTest, RefusesAnInvalidCapability) {
  EXPECT_THAT(refusalOf("bad_capability"),
              HasSubstr("migration_window is only allowed for block volumes"));
}

TEST(LoadPluginTest, RefusesAPluginWithAnUndefinedSymbolAtLoad) {
  const std::string message = refusalOf("undefined_symbol");
  EXPECT_THAT(message, HasSubstr("cannot be loaded as a shared object"));
  EXPECT_THAT(message, HasSubstr("polycsi_fixture_function_nobody_defines"));
}

TEST(LoadPluginTest, RefusesAFileNotNamedLikeAPlugin) {
  const std::string path = ::testing::TempDir() + "/not_a_plugin_name.so";
  std::filesystem::copy_file(fixture("good"), path,
                             std::filesystem::copy_options::overwrite_existing);
  auto plugin = loadPlugin(path);
  ASSERT_FALSE(plugin.isOk());
  EXPECT_EQ(plugin.status().message(),
            "plugin " + path + ": file name must have the form polycsi_<name>.so");
  std::filesystem::remove(path);
}

TEST(LoadPluginTest, RefusesADirectory) {
  const std::string path = ::testing::TempDir() + "/polycsi_dir.so";
  std::filesystem::create_directories(path);
  auto plugin = loadPlugin(path);
  ASSERT_FALSE(plugin.isOk());
  EXPECT_EQ(plugin.status().message(), "plugin " + path + ": not a regular file");
  std::filesystem::remove(path);
}

TEST(DiscoverPluginsTest, ListsEveryPluginFileWithItsVerdict) {
  auto found = discoverPlugins(kDir);
  std::map<std::string, const DiscoveredPlugin*> byName;
  for (const auto& d : found) byName[pluginNameOfFile(d.path)] = &d;
  for (const char* name : {"good", "abi_major", "abi_minor", "no_entry", "missing_attach",
                           "init_failure", "throwing_ctor", "throwing_create", "name_mismatch",
                           "bad_capability", "undefined_symbol", "not_elf"})
    ASSERT_TRUE(byName.count(name)) << name;
  EXPECT_NE(byName["good"]->plugin, nullptr);
  EXPECT_EQ(byName["good"]->error, "");
  // init failures only show when an instance starts; the files themselves are fine.
  EXPECT_NE(byName["init_failure"]->plugin, nullptr);
  EXPECT_EQ(byName["abi_major"]->plugin, nullptr);
  EXPECT_THAT(byName["abi_major"]->error, HasSubstr("2.0"));
  EXPECT_EQ(byName["not_elf"]->plugin, nullptr);
  EXPECT_TRUE(std::is_sorted(found.begin(), found.end(),
                             [](const auto& a, const auto& b) { return a.path < b.path; }));
}

TEST(DiscoverPluginsTest, ReportsAnUnreadableDirectory) {
  auto found = discoverPlugins("/nonexistent/polycsi/plugins");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].plugin, nullptr);
  EXPECT_THAT(found[0].error,
              HasSubstr("plugin directory /nonexistent/polycsi/plugins cannot be read"));
}

}  // namespace
}  // namespace polycsi::plugin_host
