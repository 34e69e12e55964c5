#include "attach/messages.hpp"

#include <algorithm>
#include <cstdint>

namespace polycsi::attach {
namespace {

// Appends to `out` (built back to front, reversed at the end) the fractional digits of
// v / 10^precision without trailing zeros, and the decimal point when any digit was written;
// returns v / 10^precision. Mirrors Go's time.fmtFrac.
uint64_t appendFractionReversed(std::string& out, uint64_t v, int precision) {
  bool printed = false;
  for (int i = 0; i < precision; ++i) {
    const uint64_t digit = v % 10;
    printed = printed || digit != 0;
    if (printed) out.push_back(static_cast<char>('0' + digit));
    v /= 10;
  }
  if (printed) out.push_back('.');
  return v;
}

void appendIntegerReversed(std::string& out, uint64_t v) {
  do {
    out.push_back(static_cast<char>('0' + v % 10));
    v /= 10;
  } while (v > 0);
}

}  // namespace

std::string formatDuration(std::chrono::nanoseconds d) {
  const int64_t count = d.count();
  if (count == 0) return "0s";
  const bool negative = count < 0;
  // Unsigned negation is defined for INT64_MIN too.
  uint64_t u = negative ? uint64_t{0} - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);

  std::string reversed;
  constexpr uint64_t kSecond = 1'000'000'000;
  if (u < kSecond) {
    // Below one second Go switches to the largest unit that keeps an integer part: ms, µs, ns.
    int precision = 0;
    if (u < 1'000) {
      reversed = "sn";
    } else if (u < 1'000'000) {
      reversed = "s\xB5\xC2";  // "µs" reversed byte-wise (U+00B5 is 0xC2 0xB5 in UTF-8)
      precision = 3;
    } else {
      reversed = "sm";
      precision = 6;
    }
    u = appendFractionReversed(reversed, u, precision);
    appendIntegerReversed(reversed, u);
  } else {
    reversed = "s";
    u = appendFractionReversed(reversed, u, 9);
    appendIntegerReversed(reversed, u % 60);
    u /= 60;
    if (u > 0) {
      reversed.push_back('m');
      appendIntegerReversed(reversed, u % 60);
      u /= 60;
      if (u > 0) {
        reversed.push_back('h');
        appendIntegerReversed(reversed, u);
      }
    }
  }
  if (negative) reversed.push_back('-');
  std::reverse(reversed.begin(), reversed.end());
  return reversed;
}

std::string formatWholeSeconds(std::chrono::nanoseconds d) {
  return formatDuration(std::chrono::duration_cast<std::chrono::seconds>(d));
}

std::string nodeDisplayName(const std::string& nodeId) {
  // A polycsi node id is "<node name>|<plugin>=<identity>..."; people know nodes by name.
  return nodeId.substr(0, nodeId.find('|'));
}

std::string formatNodeList(const std::vector<std::string>& nodes) {
  std::string out = "[";
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (i > 0) out += ", ";
    out += nodeDisplayName(nodes[i]);
  }
  out += "]";
  return out;
}

std::string migrationLimitMessage(const std::string& volumeId,
                                  const std::vector<std::string>& nodes) {
  return "Volume " + volumeId +
         " already attached to 2 nodes (migration limit). Attached nodes: " + formatNodeList(nodes);
}

std::string migrationTimeoutMessage(const std::string& volumeId, std::chrono::nanoseconds elapsed,
                                    std::chrono::seconds max) {
  return "Volume " + volumeId + " migration timeout exceeded (" + formatWholeSeconds(elapsed) +
         " elapsed, " + formatDuration(max) +
         " max). Previous migration may be stuck. Detach source node to reset, or adjust "
         "migrationTimeoutSeconds in StorageClass.";
}

std::string exclusiveConflictMessage(const std::string& volumeId, const std::string& node) {
  return "Volume " + volumeId + " is already attached to node " + nodeDisplayName(node) +
         "; access mode allows a single node";
}

std::string publishModeConflictMessage(const std::string& volumeId, const std::string& node,
                                       const std::string& recorded, const std::string& requested) {
  return "Volume " + volumeId + " is already published to node " + nodeDisplayName(node) + " as " +
         recorded + "; this publish asks for " + requested + ": unpublish it from that node first";
}

std::string semanticsMismatchMessage(const std::string& volumeId,
                                     const std::vector<std::string>& nodes,
                                     AttachSemantics attached, AttachSemantics requested) {
  return "Volume " + volumeId + " is attached to nodes " + formatNodeList(nodes) + " with " +
         semanticsName(attached) + " attachment semantics; a publish with " +
         semanticsName(requested) +
         " semantics cannot join them (was the access mode of the volume changed?)";
}

std::string migrationStartedEventMessage(const std::string& volumeId, const std::string& source,
                                         const std::string& target, std::chrono::seconds timeout) {
  return "[" + volumeId +
         "]: KubeVirt live migration started - source: " + nodeDisplayName(source) +
         ", target: " + nodeDisplayName(target) + ", timeout: " + formatDuration(timeout);
}

std::string migrationCompletedEventMessage(const std::string& volumeId, const std::string& source,
                                           const std::string& target,
                                           std::chrono::nanoseconds duration) {
  return "[" + volumeId +
         "]: KubeVirt live migration completed - source: " + nodeDisplayName(source) +
         " \xE2\x86\x92 target: " + nodeDisplayName(target) +
         " (duration: " + formatWholeSeconds(duration) + ")";
}

std::string migrationFailedEventMessage(const std::string& volumeId, const std::string& source,
                                        const std::string& target, const std::string& reason,
                                        std::chrono::nanoseconds elapsed) {
  return "[" + volumeId + "]: KubeVirt live migration failed - source: " + nodeDisplayName(source) +
         ", attempted target: " + nodeDisplayName(target) + ", reason: " + reason +
         ", elapsed: " + formatWholeSeconds(elapsed);
}

}  // namespace polycsi::attach
