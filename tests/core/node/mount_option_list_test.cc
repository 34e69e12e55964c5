#include "node/mount_option_list.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include "node/input_validation.hpp"
#include "node/kernel_mount_options.hpp"

namespace polycsi::node {
namespace {

// The mount flag kubelet adds for a pod with an SELinux label when the CSIDriver says
// seLinuxMount: true (KEP-1710): the label quoted, its categories separated by a comma.
constexpr char kKubeletContext[] = "context=\"system_u:object_r:container_file_t:s0:c10,c0\"";

TEST(MountOptionListTest, ACommaInsideQuotesDoesNotSplit) {
  const std::string list = std::string("noatime,") + kKubeletContext + ",ro";
  auto options = splitMountOptionList(list);
  ASSERT_EQ(options.size(), 3u);
  EXPECT_EQ(options[0], "noatime");
  EXPECT_EQ(options[1], kKubeletContext);
  EXPECT_EQ(options[2], "ro");
  EXPECT_EQ(splitMountOptionList("a,,b").size(), 3u);
  EXPECT_EQ(splitMountOptionList("").size(), 1u);
}

TEST(MountOptionListTest, KubeletsSelinuxLabelIsAcceptedAndReachesTheKernelWhole) {
  ASSERT_TRUE(validateMountOptions({kKubeletContext}).isOk());
  ASSERT_TRUE(
      validateMountOptions({"rootcontext=\"system_u:object_r:x_t:s0-s0:c0.c1023\""}).isOk());
  auto arguments = toKernelMountArguments({"noatime", kKubeletContext}, false);
  ASSERT_TRUE(arguments.isOk());
  EXPECT_EQ(arguments->data, kKubeletContext);
  EXPECT_EQ(arguments->flags & MS_NOATIME, static_cast<unsigned long>(MS_NOATIME));
}

TEST(MountOptionListTest, QuotesAreRefusedAnywhereButAroundALabel) {
  for (const char* bad : {"a\"b", "size=\"1\"", "context=\"x;y\"", "context=\"\"",
                          "context=\"unclosed", "context=\"a\"b\"", "fscontext=x\"y"}) {
    Status status = validateMountOptions({bad});
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << "accepted: " << bad;
  }
}

TEST(MountOptionListTest, AnNfsMountWithALabelDoesNotShareItsCache) {
  EXPECT_EQ(withNfsSelinuxSharing({"vers=4.1", kKubeletContext}),
            (std::vector<std::string>{"vers=4.1", kKubeletContext, "nosharecache"}));
  EXPECT_EQ(withNfsSelinuxSharing({"vers=4.1"}), std::vector<std::string>{"vers=4.1"});
  EXPECT_EQ(withNfsSelinuxSharing({"nosharecache,context=system_u:object_r:x_t:s0"}),
            std::vector<std::string>{"nosharecache,context=system_u:object_r:x_t:s0"});
}

}  // namespace
}  // namespace polycsi::node
