#include "sim_process.hpp"

namespace rds_sim::testing {

SimProcess::SimProcess(const std::string& binary, const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {binary, "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  child_ = std::make_unique<polycsi::testing::AnnouncedChild>(argv, "rds-sim listening on ",
                                                              std::chrono::seconds(20));
  port_ = static_cast<std::uint16_t>(child_->port());
}

SimProcess::~SimProcess() = default;

int SimProcess::stop() { return child_->stop(); }

}  // namespace rds_sim::testing
