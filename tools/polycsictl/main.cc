// polycsictl: call any CSI Identity, Controller or Node RPC of a driver from the command line.
// Exit codes: 0 OK, 1 the RPC failed ("CODE: message" on stderr), 2 usage error.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <stdexcept>

#include "command_context.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  using polycsi::csictl::CommandContext;
  using polycsi::csictl::kExitRpcError;
  using polycsi::csictl::kExitUsage;

  CLI::App app{"Call the RPCs of a CSI driver (CSI v1.12).", "polycsictl"};
  // Global flags may also follow the subcommand: "polycsictl controller list --json". When a
  // global flag is repeated the last value wins, so wrappers can prepend defaults.
  app.fallthrough();
  app.require_subcommand(1);

  CommandContext context;
  polycsi::csictl::GlobalOptions& options = context.options();
  app.add_option("--endpoint", options.endpoint,
                 "CSI endpoint: unix:///path/csi.sock, unix:/path, /path or host:port")
      ->envname("CSI_ENDPOINT")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("--json", options.json, "print the response as protobuf JSON (secrets redacted)");
  app.add_option("--timeout", options.timeout, "deadline of the call, e.g. 30s, 500ms, 2m")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  polycsi::csictl::addIdentityCommands(app, context);
  polycsi::csictl::addControllerCommands(app, context);
  polycsi::csictl::addSnapshotCommands(app, context);
  polycsi::csictl::addGroupSnapshotCommands(app, context);
  polycsi::csictl::addNodeCommands(app, context);
  polycsi::csictl::addCheckupCommand(app, context);
  polycsi::csictl::addBenchCommand(app, context);
  polycsi::csictl::addCompareCommand(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Prints help (exit 0) or the parse error; every parse error is a usage error.
    return app.exit(error) == 0 ? 0 : kExitUsage;
  }

  try {
    return context.runSelected();
  } catch (const std::invalid_argument& error) {
    std::cerr << "polycsictl: " << error.what() << '\n';
    return kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << "polycsictl: " << error.what() << '\n';
    return kExitRpcError;
  }
}
