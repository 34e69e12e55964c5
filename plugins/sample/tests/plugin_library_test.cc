// Loads the built polycsi_sample.so as the core does and checks what it exports.
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "polycsi/plugin_client.hpp"
#include "polycsi/testing/fake_host.hpp"

extern char** environ;

namespace polycsi::sample {
namespace {

constexpr char kPluginPath[] = POLYCSI_SAMPLE_PLUGIN_PATH;

struct CommandResult {
  int exitCode = -1;
  std::string output;
};

// Runs argv (no shell) and collects its standard output.
CommandResult run(const std::vector<std::string>& argv) {
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipeFds[1]);
  CommandResult result;
  if (spawned != 0) {
    ::close(pipeFds[0]);
    return result;
  }
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipeFds[0], buffer, sizeof(buffer))) > 0)
    result.output.append(buffer, static_cast<size_t>(n));
  ::close(pipeFds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(SamplePluginLibrary, LoadsAndPassesTheHostsTableCheck) {
  void* handle = ::dlopen(kPluginPath, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  auto entry =
      reinterpret_cast<polycsi_plugin_entry_fn>(::dlsym(handle, POLYCSI_PLUGIN_ENTRY_SYMBOL));
  ASSERT_NE(entry, nullptr) << ::dlerror();
  const polycsi_plugin_api* table = entry();
  EXPECT_EQ(checkPluginTable(table, kPluginPath), "");
  Descriptor d = polycsi::testing::FakeHost::describe(table);
  EXPECT_EQ(d.name, "sample");
  EXPECT_EQ(d.metricsPrefix, "sample_csi");
  PluginFeatures f = PluginFeatures::of(table);
  EXPECT_TRUE(f.snapshots && f.cloneVolume && f.restoreSnapshot && f.expandVolume && f.nodeExpand &&
              f.volumeCondition && f.listVolumes && f.getCapacity);
  // The library's own instance works, separately from the one linked into this test.
  polycsi::testing::FakeHost host;
  auto refused = host.start(table, InstanceConfig{.instanceName = "lib"});
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  ::dlclose(handle);
}

TEST(SamplePluginLibrary, ExportsOnlyTheEntryPoint) {
  CommandResult nm = run({"nm", "-D", "--defined-only", kPluginPath});
  ASSERT_EQ(nm.exitCode, 0) << "nm failed on " << kPluginPath;
  // Linker-made markers that every shared object may carry.
  const std::set<std::string> markers = {"_init", "_fini", "_edata", "_end", "__bss_start"};
  std::vector<std::string> exported;
  std::istringstream lines(nm.output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string address, type, name;
    if (!(fields >> address >> type >> name)) continue;
    if (markers.count(name)) continue;
    exported.push_back(type + " " + name);
  }
  EXPECT_EQ(exported, (std::vector<std::string>{"T polycsi_plugin_entry"})) << nm.output;
}

}  // namespace
}  // namespace polycsi::sample
