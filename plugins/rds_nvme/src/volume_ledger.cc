#include "volume_ledger.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

VolumeLedger::VolumeLedger(std::filesystem::path directory)
    : file_(std::move(directory) / "known-slots.json") {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return;
  std::ifstream in(file_);
  try {
    auto json = nlohmann::json::parse(in);
    for (const auto& slot : json.at("slots")) slots_.insert(slot.get<std::string>());
    established_ = json.value("established", false);
  } catch (const std::exception& e) {
    throw Error(Code::kInternal, "cannot read " + file_.string() + ": " + e.what() +
                                     " (remove the file to rebuild it from the RDS)");
  }
}

void VolumeLedger::add(const std::string& slot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (slots_.insert(slot).second) save();
}

void VolumeLedger::remove(const std::string& slot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (slots_.erase(slot) > 0) save();
}

bool VolumeLedger::contains(const std::string& slot) const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_.count(slot) > 0;
}

bool VolumeLedger::established() const {
  std::lock_guard<std::mutex> lock(mu_);
  return established_;
}

void VolumeLedger::adoptAll(const std::vector<std::string>& slots) {
  std::lock_guard<std::mutex> lock(mu_);
  slots_.insert(slots.begin(), slots.end());
  established_ = true;
  save();
}

void VolumeLedger::save() {
  if (file_.parent_path().empty()) return;
  nlohmann::json json;
  json["slots"] = slots_;
  json["established"] = established_;
  std::filesystem::path temp = file_;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << json.dump(1) << "\n";
    out.flush();
    if (!out) throw Error(Code::kInternal, "cannot write " + temp.string());
  }
  std::error_code ec;
  std::filesystem::rename(temp, file_, ec);
  if (ec) throw Error(Code::kInternal, "cannot replace " + file_.string() + ": " + ec.message());
}

}  // namespace polycsi::rds_nvme
