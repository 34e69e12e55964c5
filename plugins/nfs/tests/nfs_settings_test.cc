#include "nfs_settings.hpp"

#include <gtest/gtest.h>

namespace polycsi::nfs {
namespace {

Code codeOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Code::kOk;
}

TEST(NfsSettings, ParsesAControllerConfiguration) {
  auto s = NfsSettings::parse({{"server", "nas1.example.com"},
                               {"share", "/fs1"},
                               {"nfs_version", "3"},
                               {"nfs_port", "2049"},
                               {"mount_port", "20048"},
                               {"timeout_seconds", "5"},
                               {"sub_dir", "${pvc.metadata.namespace}/${pvc.metadata.name}"},
                               {"mount_permissions", "0775"},
                               {"on_delete", "archive"},
                               {"mount_options", "hard,nfsvers=4.1"}},
                              true);
  ASSERT_TRUE(s.home);
  EXPECT_EQ(s.home->server, "nas1.example.com");
  EXPECT_EQ(s.home->share, "/fs1");
  EXPECT_EQ(s.version, 3);
  EXPECT_EQ(s.nfsPort, 2049);
  EXPECT_EQ(s.mountPort, 20048);
  EXPECT_EQ(s.timeout.count(), 5);
  EXPECT_EQ(s.mountPermissions, 0775);
  EXPECT_EQ(s.onDelete, OnDelete::kArchive);
  EXPECT_EQ(s.mountOptions, (std::vector<std::string>{"hard", "nfsvers=4.1"}));
}

TEST(NfsSettings, ControllerNeedsAnExportNodeDoesNot) {
  EXPECT_EQ(codeOf([] { NfsSettings::parse({}, true); }), Code::kInvalidArgument);
  EXPECT_FALSE(NfsSettings::parse({}, false).home);
  EXPECT_EQ(codeOf([] { NfsSettings::parse({{"server", "a"}}, false); }), Code::kInvalidArgument);
}

TEST(NfsSettings, RefusesBadValues) {
  StringMap base{{"server", "127.0.0.1"}, {"share", "/x"}};
  for (auto [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"server", "-oops"},
                                                        {"server", "a b"},
                                                        {"share", "relative"},
                                                        {"share", "/a/../b"},
                                                        {"share", "/a/"},
                                                        {"nfs_version", "4.1"},
                                                        {"nfs_port", "0"},
                                                        {"timeout_seconds", "0"},
                                                        {"timeout_seconds", "301"},
                                                        {"sub_dir", "../x"},
                                                        {"sub_dir", "${nope}"},
                                                        {"mount_permissions", "1777"},
                                                        {"mount_permissions", "rwx"},
                                                        {"on_delete", "keep"},
                                                        {"mount_options", "a b"},
                                                        {"mount_options", "a,,b"}}) {
    StringMap s = base;
    s[key] = value;
    EXPECT_EQ(codeOf([&] { NfsSettings::parse(s, true); }), Code::kInvalidArgument)
        << key << "=" << value;
  }
}

TEST(NfsSettings, StorageClassParametersOverrideSettings) {
  auto s = NfsSettings::parse({{"server", "a"}, {"share", "/x"}}, true);
  auto o = resolveVolumeOptions({{"server", "b"},
                                 {"share", "/y"},
                                 {"subDir", "${pvc.metadata.name}"},
                                 {"mountPermissions", "0750"},
                                 {"onDelete", "retain"},
                                 {"csi.storage.k8s.io/pvc/name", "claim"}},
                                s);
  EXPECT_EQ(o.where.server, "b");
  EXPECT_EQ(o.where.share, "/y");
  EXPECT_EQ(o.subDirTemplate, "${pvc.metadata.name}");
  EXPECT_EQ(o.mountPermissions, 0750);
  EXPECT_EQ(o.onDelete, OnDelete::kRetain);
  auto d = resolveVolumeOptions({}, s);
  EXPECT_EQ(d.where.server, "a");
  EXPECT_EQ(d.mountPermissions, 0777);
  EXPECT_EQ(d.onDelete, OnDelete::kDelete);
  EXPECT_EQ(codeOf([&] { resolveVolumeOptions({{"size", "1"}}, s); }), Code::kInvalidArgument);
  EXPECT_EQ(codeOf([&] {
              resolveVolumeOptions({{"share", "/a/../b"}}, s);
            }),
            Code::kInvalidArgument);
  EXPECT_EQ(codeOf([&] {
              resolveVolumeOptions({{"onDelete", "shred"}}, s);
            }),
            Code::kInvalidArgument);
}

TEST(NfsSettings, PermissionsAreOctal) {
  EXPECT_EQ(parsePermissions("0777", "p"), 0777);
  EXPECT_EQ(parsePermissions("750", "p"), 0750);
  EXPECT_EQ(parsePermissions("0", "p"), 0);
  EXPECT_EQ(codeOf([] { parsePermissions("0800", "p"); }), Code::kInvalidArgument);
  EXPECT_EQ(codeOf([] { parsePermissions("", "p"); }), Code::kInvalidArgument);
}

}  // namespace
}  // namespace polycsi::nfs
