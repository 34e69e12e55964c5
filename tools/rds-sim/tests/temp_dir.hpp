// Test directories named after the simulator, so a leftover is easy to attribute.
#pragma once

#include "temp_directory.hpp"  // tests/support

namespace rds_sim::testing {

class TempDir : public polycsi::testing::TempDir {
 public:
  TempDir() : polycsi::testing::TempDir("rds-sim-test") {}
};

}  // namespace rds_sim::testing
