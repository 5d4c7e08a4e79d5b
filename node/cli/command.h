// What every `polder` subcommand shares: the global options, the way out with an error (Must,
// Usage: thrown, caught once in Main, which turns them into the exit codes of output.h and the
// --json error document), the session a command works in, printing text or --json, and id
// prefixes. Each command group (command_groups.h) registers its subcommands with CLI11 and runs
// them with these.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>

#include "node/app/home.h"
#include "node/app/session.h"
#include "polder/v1/api.pb.h"
#include "proto/bytes.h"
#include "proto/result.h"

namespace polder::cli {

// The options every subcommand takes, before or after its name.
struct Globals {
  std::string home;  // --home; empty: resolved from the environment (app::Home::Resolve)
  bool json = false;
};

// The subcommand chosen on the command line: set by its CLI11 callback once its options are
// parsed, run by Main after parsing succeeded. Returns the exit code.
using Runner = std::function<int()>;

// Thrown inside command bodies to leave with an error; caught once in Main.
struct CommandError {
  Error error;
  bool usage = false;  // exit 2 (kExitUsage) whatever the error code
};

template <class T>
T Must(Result<T> r) {
  if (!r) throw CommandError{r.error()};
  return std::move(*r);
}
void Must(const Status& s);
// Leaves with a usage error (exit 2).
[[noreturn]] void Usage(std::string message);

// The home folder: --home, else the environment (app::Home::Resolve).
app::Home ResolveHome(const Globals& g);
// Opens the home's session; its notes (e.g. own events replayed after a crash) go to stderr.
app::Session OpenSession(const Globals& g, bool need_identity, bool write);

// The addresses a newcomer's (or a new device's) node should dial, for a join code: `flags`, else
// the [node] advertise setting, else the running node's listen address.
std::vector<std::string> JoinAddresses(app::Session& s, const std::vector<std::string>& flags);
// A join code for `member` (a newcomer this home's member admitted, or, with `device`, a device
// they linked), with `addresses` as JoinAddresses picks them; "" when the home holds no network
// key. It expires at `expires_ms` (JoinCodeExpiry; 0: never). Secret: it holds the network key.
std::string MakeJoinCode(app::Session& s, const std::vector<std::string>& addresses,
                         const MemberKey& member, bool device, std::int64_t expires_ms);
// When a join code made now expires, from --expires ("never": 0; else a positive duration such
// as "7d"); leaves through Usage (exit 2) on anything else. Call before authoring anything.
std::int64_t JoinCodeExpiry(const std::string& expires);
// What --expires of `admit` and `device link` says, for their help.
inline constexpr const char* kJoinCodeExpiresHelp =
    "the join code expires after this long, e.g. 2d (default 7d; never: it does not)";

// Prints `m` as one JSON document with --json, else `human`.
void Emit(const Globals& g, const google::protobuf::Message& m, const std::string& human);
// Prints the receipt of an event this member authored: `human` and the event's id and seq, or
// an EventReceipt (with `join_code`, when one was made, and the founding partners' codes) with
// --json.
void PrintReceipt(const Globals& g, app::Session& s, const app::Session::Authored& a,
                  const std::string& human, const std::string& join_code = "",
                  const std::vector<v1::PartnerCode>& partner_codes = {});

// The event of kind `kind` ("" for any) named by an id or a unique prefix of 4+ hex digits; an
// unknown, ambiguous or malformed prefix is refused input (exit 65).
EventId ResolveId(app::Session& s, const std::string& prefix, const char* kind);
// The first 12 hex digits of an id, as tables and receipts show it.
std::string Short(const std::string& hex);

}  // namespace polder::cli
