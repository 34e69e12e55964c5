#include "key_value.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

TEST(ParseKeyValue, SplitsAtFirstEquals) {
  EXPECT_EQ(parseKeyValue("pool=fast"), std::make_pair(std::string("pool"), std::string("fast")));
  EXPECT_EQ(parseKeyValue("opts=a=b"), std::make_pair(std::string("opts"), std::string("a=b")));
  EXPECT_EQ(parseKeyValue("empty="), std::make_pair(std::string("empty"), std::string()));
}

TEST(ParseKeyValue, RejectsMissingEqualsAndEmptyKey) {
  try {
    parseKeyValue("pool");
    ADD_FAILURE() << "accepted a value without '='";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("no '='"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("'pool'"), std::string::npos) << error.what();
  }
  EXPECT_THROW(parseKeyValue("=fast"), std::invalid_argument);
  EXPECT_THROW(parseKeyValue(""), std::invalid_argument);
}

TEST(ParseKeyValues, CollectsAndNamesTheFlagInErrors) {
  const auto map = parseKeyValues("--param", {"a=1", "b=2"});
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map.at("a"), "1");
  EXPECT_EQ(map.at("b"), "2");

  try {
    parseKeyValues("--secret", {"a=1", "oops"});
    ADD_FAILURE() << "accepted a malformed item";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()).rfind("--secret: ", 0), 0u) << error.what();
  }
  try {
    parseKeyValues("--param", {"a=1", "a=2"});
    ADD_FAILURE() << "accepted a duplicated key";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("'a' given more than once"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace polycsi::csictl
