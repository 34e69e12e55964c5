// The start-up contracts of the CSI sidecars deploy/ runs, at the tags it pins: which calls each
// makes on the driver's socket before it does any work, and which answers make it exit (or,
// for the attacher, silently skip ControllerPublishVolume). Each rule cites the source file at
// the tag it was read from (sidecar_contracts.cc); docs/fidelity.md has the same table.
//
// The knowledge is written down here, not fetched: a test that replays it needs no network and
// no images, and a new tag in deploy/ without a contract here fails the test by name.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace polycsi::testing {

// What a sidecar would do with the driver's answers.
struct StartupVerdict {
  bool starts = true;
  // When !starts: the call, the answer and the exit path, e.g. "NodeGetCapabilities: ...
  // UNIMPLEMENTED ... -> exits (external-resizer v1.12.0 pkg/resizer/csi_resizer.go ...)".
  std::string reason;
  // The calls made, in order, for the test's message.
  std::vector<std::string> calls;
};

// The sidecar images polycsi deploys (the last element of the image path, without the tag).
bool isKnownSidecar(const std::string& imageName);

// Replays the start-up of `imageName` at `tag` against the CSI socket `channel` (which must
// serve the driver as the sidecar's pod runs it). std::nullopt when no contract is recorded for
// that image and tag. Blocking; each call has its own deadline.
std::optional<StartupVerdict> replayStartup(const std::string& imageName, const std::string& tag,
                                            const std::shared_ptr<grpc::Channel>& channel);

}  // namespace polycsi::testing
