// Test directories named after the simulator, so a leftover is easy to attribute.
#pragma once

#include "temp_directory.hpp"  // tests/support

namespace powerstore_sim::testing {

class TempDir : public polycsi::testing::TempDir {
 public:
  TempDir() : polycsi::testing::TempDir("powerstore-sim-test") {}
};

}  // namespace powerstore_sim::testing
