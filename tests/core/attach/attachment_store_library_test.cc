// core/attach: the store's library is looked for in lib/ beside bin/, and a missing file or an
// object that is not the library is refused with a message naming it.
#include "attach/attachment_store_library.hpp"

#include <gtest/gtest.h>

#include <string>

namespace polycsi::attach {
namespace {

TEST(AttachmentStoreLibraryTest, TheLibraryIsLookedForInLibBesideTheExecutablesBin) {
  auto path = storeLibraryPath();
  ASSERT_TRUE(path.isOk()) << path.status().toString();
  EXPECT_EQ(*path, std::string(POLYCSI_ATTACHMENT_STORE_MODULE));
}

TEST(AttachmentStoreLibraryTest, TheLibraryOfThisBuildLoads) {
  auto library = loadStoreLibrary(POLYCSI_ATTACHMENT_STORE_MODULE);
  ASSERT_TRUE(library.isOk()) << library.status().toString();
  EXPECT_EQ((*library)->size, sizeof(StoreLibrary));
}

TEST(AttachmentStoreLibraryTest, AMissingLibraryIsNamed) {
  auto library = loadStoreLibrary("/nonexistent/lib/libpolycsi_attachment_store.so");
  ASSERT_FALSE(library.isOk());
  EXPECT_EQ(library.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(library.status().message().find("cannot load the attachment store library "
                                            "/nonexistent/lib/libpolycsi_attachment_store.so"),
            std::string::npos)
      << library.status().message();
}

TEST(AttachmentStoreLibraryTest, AnObjectThatIsNotTheLibraryIsRefused) {
  auto library = loadStoreLibrary(POLYCSI_SAMPLE_PLUGIN);
  ASSERT_FALSE(library.isOk());
  EXPECT_EQ(library.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(library.status().message().find(std::string("the attachment store library ") +
                                            POLYCSI_SAMPLE_PLUGIN +
                                            " has no polycsi_attachment_store_library_v1"),
            std::string::npos)
      << library.status().message();
}

}  // namespace
}  // namespace polycsi::attach
