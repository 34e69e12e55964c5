#include "kernel_features.hpp"

#include <fstream>
#include <string>

namespace polycsi::testing {

bool kernelHasDeviceMapper() {
  std::ifstream misc("/proc/misc");
  std::string line;
  while (std::getline(misc, line))
    if (line.find(" device-mapper") != std::string::npos) return true;
  return false;
}

}  // namespace polycsi::testing
