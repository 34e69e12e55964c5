#include "output.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "secret_redaction.hpp"

namespace polycsi::csictl {

std::string toJson(const google::protobuf::Message& message) {
  std::unique_ptr<google::protobuf::Message> redacted(message.New());
  redacted->CopyFrom(message);
  redactSecrets(*redacted);

  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string compact;
  const auto status = google::protobuf::util::MessageToJsonString(*redacted, &compact, options);
  if (!status.ok()) {
    throw std::runtime_error("cannot render " + message.GetTypeName() +
                             " as JSON: " + status.ToString());
  }
  // Re-indent through nlohmann so the layout does not depend on the protobuf version.
  return nlohmann::ordered_json::parse(compact).dump(2);
}

std::string formatStringMap(const google::protobuf::Map<std::string, std::string>& map) {
  if (map.empty()) return "-";
  const std::map<std::string, std::string> sorted(map.begin(), map.end());
  std::string text;
  for (const auto& [key, value] : sorted) {
    if (!text.empty()) text += ",";
    text += key + "=" + value;
  }
  return text;
}

std::string formatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  return google::protobuf::util::TimeUtil::ToString(timestamp);
}

TextTable::TextTable(std::vector<std::string> header) : header_(std::move(header)) {}

void TextTable::addRow(std::vector<std::string> row) {
  if (row.size() > header_.size()) {
    throw std::invalid_argument("table row has " + std::to_string(row.size()) +
                                " cells but the header has " + std::to_string(header_.size()));
  }
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

void TextTable::print(std::ostream& out) const {
  std::vector<std::size_t> widths(header_.size());
  for (std::size_t column = 0; column < header_.size(); ++column) {
    widths[column] = header_[column].size();
    for (const auto& row : rows_) widths[column] = std::max(widths[column], row[column].size());
  }
  const auto printLine = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t column = 0; column < cells.size(); ++column) {
      line += cells[column];
      if (column + 1 < cells.size())
        line += std::string(widths[column] - cells[column].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  };
  printLine(header_);
  for (const auto& row : rows_) printLine(row);
}

}  // namespace polycsi::csictl
