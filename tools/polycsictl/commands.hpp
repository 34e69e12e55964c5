// The polycsictl command groups. Each add*Commands registers its subcommands on `app`; the
// leaf commands record their action in `context` when parsed (see CommandContext::select).
// `context` must outlive `app`.
#pragma once

#include <CLI/CLI.hpp>

#include "command_context.hpp"

namespace polycsi::csictl {

// identity info | capabilities | probe
void addIdentityCommands(CLI::App& app, CommandContext& context);
// controller create | delete | publish | unpublish | validate | list | capacity |
// capabilities | expand | get | modify
void addControllerCommands(CLI::App& app, CommandContext& context);
// snapshot create | delete | list | get
void addSnapshotCommands(CLI::App& app, CommandContext& context);
// group-snapshot create | delete | get
void addGroupSnapshotCommands(CLI::App& app, CommandContext& context);
// node stage | unstage | publish | unpublish | stats | expand | capabilities | info
void addNodeCommands(CLI::App& app, CommandContext& context);

// checkup: what each backend supports and how to use it for KubeVirt VMs
void addCheckupCommand(CLI::App& app, CommandContext& context);
// compare: every backend in one table, which of them can live-migrate a KubeVirt VM and why
void addCompareCommand(CLI::App& app, CommandContext& context);

// bench: latency and throughput of the driver's RPCs at several concurrency levels
void addBenchCommand(CLI::App& app, CommandContext& context);

// Makes `action` the one to run when `command` is the parsed leaf command.
inline void selectOnParse(CLI::App* command, CommandContext& context,
                          CommandContext::Action action) {
  command->callback([&context, action = std::move(action)] { context.select(action); });
}

}  // namespace polycsi::csictl
