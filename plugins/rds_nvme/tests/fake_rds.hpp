// FakeRds: an in-memory RDS behind the CommandTransport interface, for tests.
//
// It records the text of every command it receives (so a test can assert exactly what went on
// the wire, or that nothing did), acts on the command's structure (menu, action, condition,
// arguments) the way RouterOS would on /disk and /file, and answers `print detail` in
// RouterOS's own format (flags header, numbered entries, wrapped continuation lines, spaced
// digit sizes, file-size with a unit), so the real parser reads it back. Faults can be armed:
// lose the reply of the next command of an action (after applying it), or answer the next
// command with an error text.
//
// THREADING: internally locked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "command_transport.hpp"
#include "rds_backend.hpp"

namespace polycsi::rds_nvme::testing {

class FakeRds : public CommandTransport {
 public:
  struct Disk {
    std::map<std::string, std::string> props;  // as RouterOS would print them (unquoted)
    int64_t bytes = 0;
  };

  CommandReply run(const RouterOsCommand& command, const Call& call) override;

  // ---- setup ----
  void addPool(const std::string& mountPoint, int64_t size, int64_t free);
  void addDisk(const std::string& slot, const std::string& filePath, int64_t bytes,
               bool exported = true);
  void addFile(const std::string& name, int64_t bytes = 0);
  // The next command with `action` is applied, then its reply is lost (TransportError).
  void loseReplyOfNext(RouterOsCommand::Action action);
  // The next command (of `action`, or any) gets `text` as its reply with exit status 1, and
  // is not applied.
  void failNextWith(const std::string& text,
                    std::optional<RouterOsCommand::Action> action = std::nullopt);

  // The next /disk add with copy-from makes its target file (as RouterOS does before it lists
  // the disk), then waits until releaseCopy() while every other command still runs: a copy in
  // progress. A held copy whose call is cancelled or runs out of time ends with its reply
  // lost (the file stays, no disk).
  void holdNextCopy();
  // Waits (at most `limit`) until a held copy waits; false when none came.
  bool waitForHeldCopy(std::chrono::milliseconds limit = std::chrono::seconds(30));
  // Lets the held copy go on: applied as usual, or, with `failureText`, answered with that
  // error and not applied (its half file stays, as a failed copy may leave it).
  void releaseCopy(std::optional<std::string> failureText = std::nullopt);

  // ---- inspection ----
  std::vector<std::string> commands() const;
  void clearCommands();
  // Commands whose text starts with `prefix`, e.g. "/disk add".
  int count(const std::string& prefix) const;
  std::optional<Disk> disk(const std::string& slot) const;
  bool hasFile(const std::string& name) const;
  size_t diskCount() const;

 private:
  CommandReply apply(const RouterOsCommand& command);
  std::string renderDisks(const std::vector<const Disk*>& disks) const;
  std::string renderFiles(const std::vector<std::string>& names) const;

  mutable std::mutex mu_;
  std::vector<std::string> commands_;
  std::vector<std::pair<std::string, Disk>> disks_;  // in creation order
  std::map<std::string, int64_t> files_;
  std::optional<RouterOsCommand::Action> loseReply_;
  std::optional<std::string> failNext_;
  std::optional<RouterOsCommand::Action> failAction_;
  std::condition_variable copyChanged_;
  bool holdNextCopy_ = false;
  bool copyHeld_ = false;
  bool copyReleased_ = false;
  std::optional<std::string> copyFailure_;
};

// A transport that forwards to a FakeRds the test owns (the backend owns its transport).
class ForwardingTransport : public CommandTransport {
 public:
  explicit ForwardingTransport(FakeRds* target) : target_(target) {}
  CommandReply run(const RouterOsCommand& command, const Call& call) override {
    return target_->run(command, call);
  }

 private:
  FakeRds* target_;
};

// A transport factory for RdsBackend's constructor: the backend's commands go to `rds`, which
// must outlive the backend.
inline TransportFactory forwardingTo(FakeRds* rds) {
  return [rds](const RdsSettings&, const Host&) -> std::unique_ptr<CommandTransport> {
    return std::make_unique<ForwardingTransport>(rds);
  };
}

}  // namespace polycsi::rds_nvme::testing
