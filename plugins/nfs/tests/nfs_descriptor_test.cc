// The descriptor the core sees: the capability matrix of the issue, no expansion, every
// snapshot function, the provisioner keys among the parameters.
#include <gtest/gtest.h>

#include "polycsi/plugin_abi.h"
#include "polycsi/testing/fake_host.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::nfs {
namespace {

using A = AccessMode;
using S = AttachSemantics;
using V = VolumeMode;

TEST(NfsDescriptor, NameAndPrefix) {
  Descriptor d = polycsi::testing::FakeHost::describe(polycsi_plugin_entry());
  EXPECT_EQ(d.name, "nfs");
  EXPECT_EQ(d.metricsPrefix, "nfs_csi");
}

TEST(NfsDescriptor, CapabilityMatrix) {
  Descriptor d = polycsi::testing::FakeHost::describe(polycsi_plugin_entry());
  EXPECT_EQ(d.semanticsFor(A::kSingleNodeWriter, V::kFilesystem), S::kExclusive);
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeMultiWriter, V::kFilesystem), S::kShared);
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeReaderOnly, V::kFilesystem), S::kShared);
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeSingleWriter, V::kFilesystem), S::kUnsupported);
  for (A a : {A::kSingleNodeWriter, A::kMultiNodeMultiWriter, A::kMultiNodeReaderOnly}) {
    EXPECT_EQ(d.semanticsFor(a, V::kBlock), S::kUnsupported);
    EXPECT_NE(d.unsupportedReason(a, V::kBlock).find("not block devices"), std::string::npos);
  }
}

TEST(NfsDescriptor, OptionalFunctionsMatchWhatWorks) {
  const polycsi_plugin_api* t = polycsi_plugin_entry();
  EXPECT_EQ(t->expand_volume, nullptr)
      << "NFS cannot enforce a size: expansion must not be offered";
  EXPECT_EQ(t->node_expand, nullptr);
  EXPECT_EQ(t->publish, nullptr);
  EXPECT_NE(t->create_snapshot, nullptr);
  EXPECT_NE(t->delete_snapshot, nullptr);
  EXPECT_NE(t->list_snapshots, nullptr);
  EXPECT_NE(t->create_volume_from_snapshot, nullptr);
  EXPECT_NE(t->clone_volume, nullptr);
  EXPECT_NE(t->get_capacity, nullptr);
  EXPECT_NE(t->list_volumes, nullptr);
}

TEST(NfsDescriptor, DeclaresTheProvisionerKeysItReads) {
  Descriptor d = polycsi::testing::FakeHost::describe(polycsi_plugin_entry());
  std::vector<std::string> names;
  for (const auto& p : d.parameters) names.push_back(p.name);
  for (const char* key :
       {"server", "share", "subDir", "mountPermissions", "onDelete", "csi.storage.k8s.io/pvc/name",
        "csi.storage.k8s.io/pvc/namespace", "csi.storage.k8s.io/pv/name"})
    EXPECT_NE(std::find(names.begin(), names.end(), key), names.end()) << key;
}

}  // namespace
}  // namespace polycsi::nfs
