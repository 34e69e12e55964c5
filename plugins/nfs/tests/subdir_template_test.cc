#include "subdir_template.hpp"

#include <gtest/gtest.h>

namespace polycsi::nfs {
namespace {

SubDirVariables vars() { return SubDirVariables{"pvc-123", "data", "team-a", "pvc-123"}; }

Code codeOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Code::kOk;
}

TEST(SubDirTemplate, EmptyTemplateIsTheVolumeName) {
  EXPECT_EQ(expandSubDir("", vars()), "pvc-123");
}

TEST(SubDirTemplate, ExpandsEveryVariable) {
  EXPECT_EQ(
      expandSubDir("${pvc.metadata.namespace}/${pvc.metadata.name}-${pv.metadata.name}", vars()),
      "team-a/data-pvc-123");
  EXPECT_EQ(expandSubDir("fixed/${pvc.metadata.name}", vars()), "fixed/data");
}

TEST(SubDirTemplate, RefusesUnknownUnterminatedAndMissingVariables) {
  EXPECT_EQ(codeOf([] { expandSubDir("${pvc.metadata.uid}", vars()); }), Code::kInvalidArgument);
  EXPECT_EQ(codeOf([] { expandSubDir("a/${pvc.metadata.name", vars()); }), Code::kInvalidArgument);
  try {
    expandSubDir("${pvc.metadata.name}", SubDirVariables{"pvc-1", "", "", ""});
    FAIL() << "a missing variable was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("extra-create-metadata"), std::string::npos) << e.what();
  }
}

TEST(SubDirTemplate, RefusesEveryEscape) {
  for (const char* bad :
       {"..", "../x", "a/../../b", "/abs", "/", "a//b", "a/", "./a", "a/.", ".polycsi",
        ".snapshots/x", "archived-x", "a\\b", "a\nb", "a\tb", "a\x7f"}) {
    EXPECT_EQ(codeOf([&] { checkSubDir(bad, "test"); }), Code::kInvalidArgument)
        << "accepted '" << printable(bad) << "'";
  }
  // Nested "archived-" is fine: only the export's top level holds archives.
  EXPECT_EQ(codeOf([] { checkSubDir("ns/archived-x", "test"); }), Code::kOk);
  EXPECT_EQ(codeOf([] { checkSubDir(std::string(256, 'a'), "test"); }), Code::kInvalidArgument);
}

TEST(SubDirTemplate, RefusesTemplatesThatExpandToEscapes) {
  EXPECT_EQ(codeOf([] {
              expandSubDir("${pvc.metadata.name}", SubDirVariables{"v", "..", "ns", "pv"});
            }),
            Code::kInvalidArgument);
  EXPECT_EQ(
      codeOf([] {
        expandSubDir("x/${pvc.metadata.namespace}/y", SubDirVariables{"v", "n", "../..", "pv"});
      }),
      Code::kInvalidArgument);
  EXPECT_EQ(codeOf([] {
              expandSubDir("${pvc.metadata.name}", SubDirVariables{"v", "a\x01", "ns", "pv"});
            }),
            Code::kInvalidArgument);
  EXPECT_EQ(codeOf([] { expandSubDir("/${pvc.metadata.name}", vars()); }), Code::kInvalidArgument);
}

TEST(SubDirTemplate, PrintableEscapesControlBytes) {
  EXPECT_EQ(printable(std::string("a\nb\x01", 4)), "a\\x0ab\\x01");
}

}  // namespace
}  // namespace polycsi::nfs
