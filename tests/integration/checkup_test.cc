// polycsictl checkup against a real `polycsi serve`: the report comes from the driver's
// GetPluginInfo manifest, so it names the configured backends and the sample plugin's matrix.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "driver_process.hpp"

namespace polycsi::testing {
namespace {

struct Ran {
  int exitCode = -1;
  std::string out;
};

// Runs polycsictl with `args`; stdout and stderr together.
Ran runPolycsictl(const std::vector<std::string>& args) {
  int pipeFds[2];
  if (pipe(pipeFds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipeFds[1], 1);
    dup2(pipeFds[1], 2);
    close(pipeFds[0]);
    std::vector<char*> argv{const_cast<char*>(POLYCSICTL_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipeFds[1]);
  Ran ran;
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipeFds[0], buffer, sizeof(buffer))) > 0)
    ran.out.append(buffer, static_cast<size_t>(n));
  close(pipeFds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ran.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return ran;
}

class CheckupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    driver_ =
        std::make_unique<DriverProcess>(work_.path(),
                                        "backends:\n"
                                        "  - name: files\n    plugin: sample\n    default: true\n"
                                        "    settings:\n      directory: " +
                                            work_.path() +
                                            "/files\n"
                                            "  - name: scratch\n    plugin: sample\n"
                                            "    settings:\n      directory: " +
                                            work_.path() + "/scratch\n");
    driver_->start();
  }
  void TearDown() override {
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << driver_->log();
  }
  Ran checkup(std::vector<std::string> args) {
    args.insert(args.begin(), {"--endpoint", "unix://" + work_.path() + "/csi.sock", "checkup"});
    return runPolycsictl(args);
  }

  TempWorkDir work_;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(CheckupTest, ReportsEveryBackendWithItsMigrationVerdictAndYaml) {
  const Ran ran = checkup({});
  ASSERT_EQ(ran.exitCode, 0) << ran.out;
  EXPECT_NE(ran.out.find("backend files (plugin sample 0.1.0, default)"), std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("backend scratch (plugin sample 0.1.0)"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("live migration: yes (RWX Block, bounded window 300s default"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("storageClassName: polycsi-files"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("kind: StorageProfile"), std::string::npos) << ran.out;
}

TEST_F(CheckupTest, JsonForOneBackendCarriesPvcAndClaimPropertySets) {
  const Ran ran = checkup({"--backend", "scratch", "--storage-class", "vm-disks", "--json"});
  ASSERT_EQ(ran.exitCode, 0) << ran.out;
  const auto report = nlohmann::json::parse(ran.out);
  EXPECT_EQ(report.at("driver"), "polycsi.csi.io");
  ASSERT_EQ(report.at("backends").size(), 1u);
  const auto& backend = report.at("backends")[0];
  EXPECT_EQ(backend.at("name"), "scratch");
  EXPECT_EQ(backend.at("plugin"), "sample");
  EXPECT_TRUE(backend.at("liveMigration").at("supported").get<bool>());
  EXPECT_EQ(backend.at("liveMigration").at("volumeMode"), "Block");
  const auto& pvc = backend.at("pvc").at("spec");
  EXPECT_EQ(pvc.at("storageClassName"), "vm-disks");
  EXPECT_EQ(pvc.at("accessModes"), nlohmann::json::array({"ReadWriteMany"}));
  EXPECT_EQ(pvc.at("volumeMode"), "Block");
  const auto& sets = backend.at("storageProfile").at("spec").at("claimPropertySets");
  ASSERT_GE(sets.size(), 2u);
  EXPECT_EQ(sets[0].at("volumeMode"), "Block");
  EXPECT_EQ(sets[0].at("accessModes"), nlohmann::json::array({"ReadWriteMany"}));
  EXPECT_EQ(backend.at("storageProfile").at("metadata").at("name"), "vm-disks");
}

TEST_F(CheckupTest, UnknownBackendIsNamedWithTheOnesThatExist) {
  const Ran ran = checkup({"--backend", "nope"});
  EXPECT_EQ(ran.exitCode, 1);
  EXPECT_NE(ran.out.find("no backend 'nope' (it has: files, scratch)"), std::string::npos)
      << ran.out;
}

}  // namespace
}  // namespace polycsi::testing
