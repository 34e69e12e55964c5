// Slot names derived from CSI names. Volumes on routers are named by these, so a name once
// derived must stay the same in every release: the expected slots below were derived by the
// plugin's first implementation (OpenSSL's EVP SHA-256) and must never change.
#include "volume_naming.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

using Pins = std::vector<std::pair<std::string, std::string>>;

// CSI name -> slot; the lengths (55, 56, 63, 64, 119, 120 bytes) sit at SHA-256's padding
// boundaries.
TEST(VolumeNamingTest, DerivedVolumeSlotsStayAsTheyWere) {
  const SlotPrefix prefix = SlotPrefix::parse("pvc-", "prefix");
  const Pins pins = {
      {"my-volume", "pvc-h3c67b0092024d091cf15bfeb032c0c76"},
      {"a", "pvc-hca978112ca1bbdcafac231b39a23dc4d"},
      {"data.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
       "pvc-hb9f73639d2fec0949fe2ae2e2e69156b"},
      {"data.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO",
       "pvc-h275640f23bccf7037c5cce6a6e464c57"},
      {"data-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
       "pvc-h68dbea3ff35cd61d6574d9e24ea2fad0"},
      {"data-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW",
       "pvc-h431a0efd5249b6e51955d7ee307c7a18"},
      {"Vol_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklm"
       "nopqrstuvwxyzABCDEFGHIJKLMNOPQ",
       "pvc-hec394078e7463e560d4933c67e2e5339"},
      {"Vol_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklm"
       "nopqrstuvwxyzABCDEFGHIJKLMNOPQR",
       "pvc-hf7dfc77738d3e7b3ed536b83f882233c"},
      {"x0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnop"
       "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012",
       "pvc-h54c9edab4bdcf0fa8b282cced61da06e"},
      {"pvc-with.dot", "pvc-h8cccb7fb3dc024d93d09e266749ab5b3"},
      // A name that already is a slot with the prefix is the slot itself.
      {"pvc-0f3c1a2b-aaaa-bbbb-cccc-000000000001", "pvc-0f3c1a2b-aaaa-bbbb-cccc-000000000001"},
  };
  for (const auto& [name, slot] : pins) EXPECT_EQ(volumeSlotForName(name, prefix).str(), slot);
}

// A 32-character prefix: "<prefix>h<32 hex>" is 65 characters, cut to RouterOS's 63.
TEST(VolumeNamingTest, DerivedSlotsWithALongPrefixAreCutTo63Characters) {
  const SlotPrefix prefix = SlotPrefix::parse("k8s-cluster-a-volumes-of-tenant-", "prefix");
  EXPECT_EQ(volumeSlotForName("my-volume", prefix).str(),
            "k8s-cluster-a-volumes-of-tenant-h3c67b0092024d091cf15bfeb032c0c");
  EXPECT_EQ(
      volumeSlotForName("data.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW", prefix)
          .str(),
      "k8s-cluster-a-volumes-of-tenant-h0b8f342f84aeeb718c1b22afdb8325");
}

TEST(VolumeNamingTest, DerivedSnapshotSlotsStayAsTheyWere) {
  const Pins pins = {
      {"snapshot-1", "snap-79c6d61344be00e74b64db50b5b9639b"},
      {"snap.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
       "snap-485469ff799f50f931f8f51fd12c5bf5"},
      {"snap.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO",
       "snap-2ba9a63fa219eef6bc3066121ee3cfad"},
      {"snap-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
       "snap-c5bd7d5d93a31b9e6cbe3a06fbfc995e"},
      {"snap-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW",
       "snap-c5d6fd55803a16d386003c4ab9d17b71"},
      {"s0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnop"
       "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012",
       "snap-2fdcbf842bbdf5fe76dbfa9fd3934c98"},
  };
  for (const auto& [name, slot] : pins) EXPECT_EQ(snapshotSlotForName(name).str(), slot);
}

TEST(VolumeNamingTest, NamesOutsideTheRuleAreRefused) {
  for (const std::string& bad : {std::string(), std::string(129, 'a'), std::string("-a"),
                                 std::string("a..b"), std::string("a/b")}) {
    try {
      volumeSlotForName(bad, SlotPrefix::parse("pvc-", "prefix"));
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument) << e.what();
    }
  }
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
