// polder: the command-line program. One subcommand per action on a circle, registered by its
// command group (node/cli/command_groups.h); every subcommand takes --home and --json and returns
// the exit codes in node/cli/output.h (docs/cli.md).
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <google/protobuf/stubs/logging.h>

#include "crypto/identity.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "polder/v1/api.pb.h"

namespace polder::cli {

int Main(int argc, char** argv) {
  crypto::InitSodium();
  // Protobuf logs parse problems of hostile input to stderr; the gate reports them itself.
  google::protobuf::SetLogHandler(nullptr);

  CLI::App app{"polder: decide together, without a central server"};
  app.require_subcommand(1);
  app.fallthrough();  // --home and --json may come before or after the subcommand
  app.set_version_flag("--version", std::string("polder 0.1.0 (event format v1)"));
  Globals g;
  app.add_option("--home", g.home, "data folder (default: $POLDER_HOME or $XDG_DATA_HOME/polder)");
  app.add_flag("--json", g.json, "print one JSON document instead of text");
  Runner run;
  RegisterIdentityCommands(app, g, run);
  RegisterCircleCommands(app, g, run);
  RegisterDeviceCommands(app, g, run);
  RegisterNodeCommand(app, g, run);
  RegisterWriteCommands(app, g, run);
  RegisterReadCommands(app, g, run);
  RegisterFileCommands(app, g, run);
  RegisterTallyCommands(app, g, run);
  RegisterPbCommand(app, g, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  try {
    return run ? run() : kExitUsage;
  } catch (const CommandError& e) {
    const int code = e.usage ? kExitUsage : ExitCodeFor(e.error);
    if (g.json) {
      v1::ErrorView v;
      v.set_code(ToString(e.error.code));
      v.set_message(e.error.message);
      v.set_exit_code(code);
      std::cout << ToJson(v) << "\n";
    }
    std::cerr << "error: " << e.error.message << "\n";
    return code;
  }
}

}  // namespace polder::cli

int main(int argc, char** argv) { return polder::cli::Main(argc, argv); }
