// The subcommands of `polder`, one group per file. Each Register* function adds its group's
// subcommands and their options to `app`; a subcommand's callback sets `run` to its body, which
// Main runs once parsing succeeded. `g` and `run` must outlive `app`. Main calls them in the order
// below, which is the order `polder --help` lists the subcommands in.
#pragma once

#include <CLI/CLI.hpp>

#include "node/cli/command.h"

namespace polder::cli {

// init, id (identity_cmd.cc)
void RegisterIdentityCommands(CLI::App& app, const Globals& g, Runner& run);
// circle create, admit, join (circle_cmd.cc)
void RegisterCircleCommands(CLI::App& app, const Globals& g, Runner& run);
// device link, device revoke, device list (device_cmd.cc)
void RegisterDeviceCommands(CLI::App& app, const Globals& g, Runner& run);
// node (node_cmd.cc)
void RegisterNodeCommand(CLI::App& app, const Globals& g, Runner& run);
// propose, propose-rules, vote, flag, resolve, endorse, comment, delegate, withdraw
// (write_cmd.cc)
void RegisterWriteCommands(CLI::App& app, const Globals& g, Runner& run);
// list, members, show, status (read_cmd.cc)
void RegisterReadCommands(CLI::App& app, const Globals& g, Runner& run);
// export, import, rebuild, verify (file_cmd.cc)
void RegisterFileCommands(CLI::App& app, const Globals& g, Runner& run);
// tally, audit (tally_cmd.cc)
void RegisterTallyCommands(CLI::App& app, const Globals& g, Runner& run);
// pb (pb_cmd.cc)
void RegisterPbCommand(CLI::App& app, const Globals& g, Runner& run);

}  // namespace polder::cli
