// Fuzz target: CSI volume ids and node ids (core/volume).
//
// The input is decoded as a volume id and as a node id. Invariants:
//   - a decoded id encodes back to exactly the input (node ids: to the input with identities
//     in name order, the same length), and decodes again to the same parts;
//   - a refused volume id is NOT_FOUND and a refused node id INVALID_ARGUMENT, as the CSI
//     rules the server relies on say;
//   - parts split out of the input (at the first NUL) that encode, decode back to themselves.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "volume/volume_id.hpp"

namespace {

using polycsi::Code;
using polycsi::fuzz::visible;
namespace volume = polycsi::volume;

void checkVolumeIdDecoding(std::string_view text) {
  auto decoded = volume::decodeVolumeId(text);
  if (!decoded.isOk()) {
    POLYCSI_FUZZ_CHECK(
        decoded.status().code() == Code::kNotFound,
        "refused volume id '" + visible(text) + "' gave " + decoded.status().toString());
    return;
  }
  POLYCSI_FUZZ_CHECK(volume::isValidBackendName(decoded->backend), visible(decoded->backend));
  POLYCSI_FUZZ_CHECK(volume::isValidLocalId(decoded->local), visible(decoded->local));
  auto encoded = volume::encodeVolumeId(*decoded);
  POLYCSI_FUZZ_CHECK(encoded.isOk(), "decoded '" + visible(text) +
                                         "' does not encode: " + encoded.status().toString());
  POLYCSI_FUZZ_CHECK(*encoded == text,
                     "'" + visible(text) + "' encodes back as '" + visible(*encoded) + "'");
}

void checkNodeIdDecoding(std::string_view text) {
  auto decoded = volume::decodeNodeId(text);
  if (!decoded.isOk()) {
    POLYCSI_FUZZ_CHECK(
        decoded.status().code() == Code::kInvalidArgument,
        "refused node id '" + visible(text) + "' gave " + decoded.status().toString());
    return;
  }
  auto encoded = volume::encodeNodeId(*decoded);
  POLYCSI_FUZZ_CHECK(encoded.isOk(), "decoded node id '" + visible(text) +
                                         "' does not encode: " + encoded.status().toString());
  POLYCSI_FUZZ_CHECK(encoded->size() == text.size(),
                     "'" + visible(text) + "' encodes as '" + visible(*encoded) + "'");
  auto again = volume::decodeNodeId(*encoded);
  POLYCSI_FUZZ_CHECK(again.isOk(), "encoded node id '" + visible(*encoded) +
                                       "' does not decode: " + again.status().toString());
  POLYCSI_FUZZ_CHECK(again->name == decoded->name && again->identities == decoded->identities,
                     "'" + visible(text) + "' changes through encode and decode");
  // Encoding is canonical: encoding the re-decoded id gives the same text.
  auto encodedAgain = volume::encodeNodeId(*again);
  POLYCSI_FUZZ_CHECK(encodedAgain.isOk() && *encodedAgain == *encoded, visible(*encoded));
}

// Builds ids from parts of the input: "<backend>\0<local>" and
// "<name>\0<plugin>\0<identity>\0<plugin>\0<identity>...".
void checkEncoding(std::string_view text) {
  size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return;
  volume::VolumeId id{std::string(text.substr(0, nul)), std::string(text.substr(nul + 1))};
  if (auto encoded = volume::encodeVolumeId(id); encoded.isOk()) {
    POLYCSI_FUZZ_CHECK(encoded->size() <= volume::kMaxVolumeIdBytes, visible(*encoded));
    auto decoded = volume::decodeVolumeId(*encoded);
    POLYCSI_FUZZ_CHECK(
        decoded.isOk() && decoded->backend == id.backend && decoded->local == id.local,
        "encoded volume id '" + visible(*encoded) + "' does not decode to its parts");
  } else {
    POLYCSI_FUZZ_CHECK(encoded.status().code() == Code::kInvalidArgument,
                       encoded.status().toString());
  }

  volume::NodeId node;
  std::string_view rest = text;
  auto next = [&rest]() {
    size_t end = rest.find('\0');
    std::string part(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    return part;
  };
  node.name = next();
  while (!rest.empty()) {
    std::string plugin = next();
    node.identities[plugin] = next();
  }
  if (auto encoded = volume::encodeNodeId(node); encoded.isOk()) {
    POLYCSI_FUZZ_CHECK(encoded->size() <= volume::kMaxNodeIdBytes, visible(*encoded));
    auto decoded = volume::decodeNodeId(*encoded);
    POLYCSI_FUZZ_CHECK(
        decoded.isOk() && decoded->name == node.name && decoded->identities == node.identities,
        "encoded node id '" + visible(*encoded) + "' does not decode to its parts");
  } else {
    POLYCSI_FUZZ_CHECK(encoded.status().code() == Code::kInvalidArgument,
                       encoded.status().toString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  checkVolumeIdDecoding(text);
  checkNodeIdDecoding(text);
  checkEncoding(text);
  return 0;
}
