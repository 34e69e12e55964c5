// Rendering CSI messages for people (one line per field, tables) and for programs (--json).
// Pure functions and a value-type table: thread-safe on distinct objects.
#pragma once

#include <google/protobuf/map.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace polycsi::csictl {

// The message as protobuf JSON (snake_case CSI field names, default-valued fields included so
// scripts see a stable shape), pretty-printed with two-space indentation, no trailing newline.
// Secrets are redacted first (see redactSecrets); the caller's message is not modified.
// Throws std::runtime_error if protobuf cannot serialise the message.
std::string toJson(const google::protobuf::Message& message);

// "k1=v1,k2=v2" sorted by key (protobuf maps have no order), or "-" when empty.
std::string formatStringMap(const google::protobuf::Map<std::string, std::string>& map);

// RFC 3339 UTC time, e.g. "2024-05-01T12:00:00Z", or "-" when the timestamp is unset (zero).
std::string formatTimestamp(const google::protobuf::Timestamp& timestamp);

// A plain-text table with a header row and columns padded to their widest cell, separated by
// two spaces. Rows shorter than the header are padded with empty cells; longer ones are an
// error (std::invalid_argument) because they would silently lose data.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header);

  void addRow(std::vector<std::string> row);
  std::size_t rowCount() const { return rows_.size(); }

  // Writes header and rows, each line ending in '\n'; trailing padding is trimmed.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace polycsi::csictl
