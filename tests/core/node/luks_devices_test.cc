// LuksDevices' decisions and command sequences against a scripted runner: what runs, in which
// order, with the passphrase only ever on standard input, and what is refused. The same
// operations on a real device-mapper are in luks_loop_device_test.cc.
#include "node/luks_devices.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

namespace polycsi::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kPassphrase[] = "luks-Passphrase-5c0ffee";
constexpr char kDevice[] = "/dev/vdb";
constexpr char kName[] = "polycsi-rds+pvc-1";
constexpr char kVolume[] = "rds:pvc-1";

// One expected program run: its argv and what it answers.
struct Step {
  std::vector<std::string> argv;
  int exitCode = 0;
  std::string output;
};

// Answers each run with the next scripted step; records what ran and with which input. A run
// that was not scripted, or out of order, fails the test and answers INTERNAL.
class ScriptedRunner {
 public:
  void expect(Step step) { script_.push_back(std::move(step)); }
  ProgramRunner runner() {
    return [this](const std::vector<std::string>& argv, std::string_view input,
                  std::chrono::milliseconds) -> StatusOr<process::CommandResult> {
      ran.push_back(argv);
      inputs.emplace_back(input);
      if (script_.empty()) {
        ADD_FAILURE() << "unexpected run: " << join(argv);
        return Status(Code::kInternal, "unexpected run");
      }
      Step step = script_.front();
      script_.pop_front();
      EXPECT_EQ(argv, step.argv) << "expected " << join(step.argv) << ", ran " << join(argv);
      return process::CommandResult{step.exitCode, step.output};
    };
  }
  bool done() const { return script_.empty(); }

  std::vector<std::vector<std::string>> ran;
  std::vector<std::string> inputs;

 private:
  static std::string join(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& a : argv) text += a + " ";
    return text;
  }
  std::deque<Step> script_;
};

class LuksDevicesTest : public ::testing::Test {
 protected:
  LuksPassphrase passphrase() const {
    return {kPassphrase, "node-stage secret key 'encryptionPassphrase'"};
  }
  // No argument of any run carries the passphrase.
  void expectPassphraseNeverInArguments() {
    for (const auto& argv : script_.ran)
      for (const auto& arg : argv) EXPECT_THAT(arg, Not(HasSubstr(kPassphrase)));
  }
  static Step inactive() {
    return {
        {"cryptsetup", "status", kName}, 4, "/dev/mapper/" + std::string(kName) + " is inactive."};
  }

  ScriptedRunner script_;
  LuksDevices luks_{std::chrono::seconds(30), script_.runner()};
};

const std::vector<std::string> kFormat = {
    "cryptsetup", "luksFormat",     "--batch-mode", "--type",       "luks2", "--pbkdf",
    "argon2id",   "--pbkdf-memory", "65536",        "--key-file=-", kDevice};
const std::vector<std::string> kOpen = {"cryptsetup",   "open",  "--type", "luks",
                                        "--key-file=-", kDevice, kName};

TEST_F(LuksDevicesTest, MappingNameIsDerivedFromTheVolumeIdAndFitsDeviceMapper) {
  EXPECT_EQ(*LuksDevices::mappingNameFor("rds:pvc-1"), "polycsi-rds+pvc-1");
  EXPECT_EQ(*LuksDevices::mappingNameFor("sample:Vol_1.a"), "polycsi-sample+Vol_1.a");
  EXPECT_EQ(LuksDevices::mappingPath("polycsi-rds+pvc-1"), "/dev/mapper/polycsi-rds+pvc-1");

  const std::string longA = "rds:" + std::string(200, 'a');
  const std::string longB = "rds:" + std::string(199, 'a') + "b";
  auto a = LuksDevices::mappingNameFor(longA);
  auto b = LuksDevices::mappingNameFor(longB);
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_EQ(a->size(), LuksDevices::kMaxMappingNameLength);
  EXPECT_EQ(b->size(), LuksDevices::kMaxMappingNameLength);
  EXPECT_NE(*a, *b) << "ids that share their start must not share a mapping";
  EXPECT_EQ(*a, *LuksDevices::mappingNameFor(longA)) << "the same on every call and node";

  for (const char* bad : {"", "rds:../x", "rds:a b", "rds:a/b", "rds:a\nb"}) {
    auto refused = LuksDevices::mappingNameFor(bad);
    EXPECT_EQ(refused.status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST_F(LuksDevicesTest, FirstStageOfABlankDeviceFormatsThenOpensWithTheKeyOnStdin) {
  script_.expect(inactive());
  script_.expect({{"cryptsetup", "isLuks", kDevice}, 1, ""});
  script_.expect({{"blkid", "-p", "-o", "export", kDevice}, 2, ""});
  script_.expect({kFormat, 0, ""});
  script_.expect({kOpen, 0, ""});
  auto opened = luks_.open(kVolume, kDevice, kName, passphrase(), false);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  EXPECT_EQ(*opened, "/dev/mapper/polycsi-rds+pvc-1");
  EXPECT_TRUE(script_.done());
  // Only luksFormat and open read the passphrase, and they get exactly it.
  EXPECT_THAT(script_.inputs, ElementsAre("", "", "", kPassphrase, kPassphrase));
  expectPassphraseNeverInArguments();
}

TEST_F(LuksDevicesTest, AnExistingLuksHeaderIsOpenedNeverFormatted) {
  script_.expect(inactive());
  script_.expect({{"cryptsetup", "isLuks", kDevice}, 0, ""});
  script_.expect({kOpen, 0, ""});
  auto opened = luks_.open(kVolume, kDevice, kName, passphrase(), false);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  EXPECT_TRUE(script_.done());
  expectPassphraseNeverInArguments();
}

TEST_F(LuksDevicesTest, RefusesToFormatADeviceThatHoldsAnythingElse) {
  struct Case {
    int exitCode;
    std::string output;
    std::string named;
  };
  for (const Case& c :
       {Case{0, "DEVNAME=/dev/vdb\nTYPE=ext4\nUUID=1234\n", "a signature of type ext4"},
        Case{0, "PTTYPE=gpt\n", "gpt partition table"},
        Case{0, "TYPE=LVM2_member\n", "LVM2_member"}, Case{8, "", "conflicting signatures"}}) {
    ScriptedRunner script;
    LuksDevices luks(std::chrono::seconds(30), script.runner());
    script.expect(inactive());
    script.expect({{"cryptsetup", "isLuks", kDevice}, 1, ""});
    script.expect({{"blkid", "-p", "-o", "export", kDevice}, c.exitCode, c.output});
    auto opened = luks.open(kVolume, kDevice, kName, passphrase(), false);
    ASSERT_FALSE(opened.isOk()) << c.named;
    EXPECT_EQ(opened.status().code(), Code::kFailedPrecondition);
    EXPECT_THAT(opened.status().message(), HasSubstr(c.named));
    EXPECT_THAT(opened.status().message(), HasSubstr(kDevice));
    EXPECT_THAT(opened.status().message(), HasSubstr(kVolume));
    // Nothing after the probe: neither luksFormat nor open ran.
    EXPECT_EQ(script.ran.size(), 3u) << c.named;
    EXPECT_TRUE(script.done());
  }
}

TEST_F(LuksDevicesTest, AWrongPassphraseIsPermissionDeniedAndChangesNothing) {
  script_.expect(inactive());
  script_.expect({{"cryptsetup", "isLuks", kDevice}, 0, ""});
  script_.expect({kOpen, 2, "No key available with this passphrase."});
  auto opened = luks_.open(kVolume, kDevice, kName, passphrase(), false);
  ASSERT_FALSE(opened.isOk());
  EXPECT_EQ(opened.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(opened.status().message(),
              HasSubstr("the passphrase in node-stage secret key 'encryptionPassphrase' does not "
                        "open the LUKS header of volume rds:pvc-1"));
  EXPECT_THAT(opened.status().message(), Not(HasSubstr(kPassphrase)));
  EXPECT_TRUE(script_.done()) << "no luksFormat, no second try";
}

TEST_F(LuksDevicesTest, AMappingAlreadyOpenOnTheDeviceIsReused) {
  script_.expect({{"cryptsetup", "status", kName},
                  0,
                  "/dev/mapper/polycsi-rds+pvc-1 is active.\n  type:    LUKS2\n"
                  "  cipher:  aes-xts-plain64\n  device:  /dev/vdb\n  sector size:  512\n"});
  auto opened = luks_.open(kVolume, kDevice, kName, passphrase(), false);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  EXPECT_EQ(*opened, "/dev/mapper/polycsi-rds+pvc-1");
  EXPECT_TRUE(script_.done());
}

TEST_F(LuksDevicesTest, AMappingLeftOnAnotherDeviceIsClosedBeforeOpening) {
  script_.expect({{"cryptsetup", "status", kName}, 0, "  type: LUKS2\n  device:  /dev/vdx\n"});
  script_.expect({{"cryptsetup", "close", kName}, 0, ""});
  script_.expect({{"cryptsetup", "isLuks", kDevice}, 0, ""});
  script_.expect({kOpen, 0, ""});
  auto opened = luks_.open(kVolume, kDevice, kName, passphrase(), false);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  EXPECT_TRUE(script_.done());
}

TEST_F(LuksDevicesTest, ReadOnlyOpensReadOnlyAndNeverFormats) {
  script_.expect(inactive());
  script_.expect({{"cryptsetup", "isLuks", kDevice}, 0, ""});
  script_.expect(
      {{"cryptsetup", "open", "--type", "luks", "--key-file=-", "--readonly", kDevice, kName},
       0,
       ""});
  ASSERT_TRUE(luks_.open(kVolume, kDevice, kName, passphrase(), true).isOk());

  ScriptedRunner blank;
  LuksDevices luks(std::chrono::seconds(30), blank.runner());
  blank.expect(inactive());
  blank.expect({{"cryptsetup", "isLuks", kDevice}, 1, ""});
  blank.expect({{"blkid", "-p", "-o", "export", kDevice}, 2, ""});
  auto refused = luks.open(kVolume, kDevice, kName, passphrase(), true);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("read-write"));
  EXPECT_TRUE(blank.done()) << "no luksFormat on a read-only stage";
}

TEST_F(LuksDevicesTest, AnEmptyPassphraseIsRefusedBeforeAnythingRuns) {
  auto refused = luks_.open(kVolume, kDevice, kName,
                            {"", "node-stage secret key 'encryptionPassphrase'"}, false);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("encryptionPassphrase"));
  EXPECT_THAT(script_.ran, IsEmpty());
}

TEST_F(LuksDevicesTest, FailuresOfCryptsetupCarryItsWords) {
  script_.expect(inactive());
  script_.expect({{"cryptsetup", "isLuks", kDevice}, 1, ""});
  script_.expect({{"blkid", "-p", "-o", "export", kDevice}, 2, ""});
  script_.expect({kFormat, 1, "Device /dev/vdb is too small."});
  auto failed = luks_.open(kVolume, kDevice, kName, passphrase(), false);
  EXPECT_EQ(failed.status().code(), Code::kInternal);
  EXPECT_THAT(failed.status().message(), HasSubstr("Device /dev/vdb is too small."));
  EXPECT_TRUE(script_.done()) << "no open after a failed format";
}

TEST_F(LuksDevicesTest, CloseIsIdempotentAndRefusesAMappingInUse) {
  script_.expect({{"cryptsetup", "close", kName}, 0, ""});
  script_.expect({{"cryptsetup", "close", kName}, 4, "Device polycsi-rds+pvc-1 is not active."});
  script_.expect({{"cryptsetup", "close", kName}, 5, "Device polycsi-rds+pvc-1 is still in use."});
  EXPECT_TRUE(luks_.close(kName).isOk());
  EXPECT_TRUE(luks_.close(kName).isOk()) << "already closed is success";
  Status busy = luks_.close(kName);
  EXPECT_EQ(busy.code(), Code::kFailedPrecondition);
  EXPECT_THAT(busy.message(), HasSubstr("still in use"));
  EXPECT_THAT(script_.inputs, ElementsAre("", "", ""));
}

TEST_F(LuksDevicesTest, ResizeGivesThePassphraseOnStdinAndNamesAMissingOne) {
  const LuksPassphrase expandKey{kPassphrase, "node-expand secret key 'encryptionPassphrase'"};
  const std::vector<std::string> resize = {"cryptsetup", "resize", "--key-file=-", kName};
  script_.expect({resize, 0, ""});
  EXPECT_TRUE(luks_.resize(kVolume, kName, expandKey).isOk());
  EXPECT_EQ(script_.inputs.back(), kPassphrase);

  script_.expect({resize, 2, "No key available with this passphrase."});
  Status wrong = luks_.resize(kVolume, kName, expandKey);
  EXPECT_EQ(wrong.code(), Code::kPermissionDenied);
  EXPECT_THAT(wrong.message(), HasSubstr("node-expand secret key 'encryptionPassphrase'"));

  script_.expect({resize, 1, "Nothing to read on input."});
  Status missing =
      luks_.resize(kVolume, kName, {"", "node-expand secret key 'encryptionPassphrase'"});
  EXPECT_EQ(missing.code(), Code::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr("node-expand secret key 'encryptionPassphrase'"));
  EXPECT_THAT(missing.message(), HasSubstr("is missing"));
  expectPassphraseNeverInArguments();
  EXPECT_TRUE(script_.done());
}

TEST_F(LuksDevicesTest, ARunnerThatCannotStartCryptsetupIsAnError) {
  LuksDevices luks(std::chrono::seconds(30),
                   [](const std::vector<std::string>&, std::string_view,
                      std::chrono::milliseconds) -> StatusOr<process::CommandResult> {
                     return Status(Code::kInternal, "cannot start 'cryptsetup': not found");
                   });
  auto opened = luks.open(kVolume, kDevice, kName, passphrase(), false);
  EXPECT_EQ(opened.status().code(), Code::kInternal);
  EXPECT_THAT(opened.status().message(), HasSubstr("cryptsetup"));
}

}  // namespace
}  // namespace polycsi::node
