// `polder init` (create the member's identity in the home), `polder id` (print it) and
// `polder restored` (continue the member's log in a home restored from a backup).
#include <chrono>
#include <memory>
#include <string>

#include "crypto/identity.h"
#include "crypto/key_file.h"
#include "crypto/member_id.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "polder/v1/api.pb.h"
#include "storage/limits.h"
#include "storage/rulebook/limits.h"

namespace polder::cli {
namespace {

struct InitArgs {
  std::string name, org, role;
  bool leader = false;
};

int CmdInit(const Globals& g, const InitArgs& a) {
  const app::Home home = ResolveHome(g);
  if (home.HasIdentity()) {
    throw CommandError{Error{
        Errc::kAlreadyExists,
        "an identity already exists in " + home.dir().string() + "; refusing to overwrite it"}};
  }
  v1::MemberInfo me;
  me.set_name(a.name);
  me.set_organisation(a.org);
  me.set_role(a.role);
  me.set_formal_leader(a.leader);
  if (a.name.empty() || a.name.size() > rulebook::kMaxNameBytes) {
    Usage("--name must be 1 to 120 bytes");
  }
  if (a.org.empty() || a.org.size() > rulebook::kMaxNameBytes)
    Usage("--org must be 1 to 120 bytes");
  Must(home.Create());
  auto lock = Must(app::HomeLock::Acquire(home, std::chrono::seconds(10)));
  const auto key = crypto::SigningKey::Generate();
  Must(crypto::WriteKeyFile(home.key_file(), key));
  Must(app::WriteProfile(home, me));
  v1::IdentityView v;
  v.set_member_id(crypto::FormatMemberId(key.public_key()));
  v.set_fingerprint(crypto::Fingerprint(key.public_key()));
  v.set_name(a.name);
  v.set_organisation(a.org);
  v.set_home(home.dir().string());
  v.set_key_file(home.key_file().string());
  Emit(g, v,
       "✓ Created identity for " + a.name + " (" + a.org + ")\n" +
           "  member ID:   " + v.member_id() + "\n" + "  fingerprint: " + v.fingerprint() + "\n" +
           "  home:        " + v.home() + "\n" + "  key file:    " + v.key_file() +
           " (mode 0600; keep it private)\n\n" +
           "Next: start a circle with `polder circle create --name NAME --purpose TEXT --pool "
           "AMOUNT --unit EUR`,\n      or give your member ID to a member so they can admit you.\n"
           "Already a member on another machine? Do not copy its identity.key: run\n"
           "      `polder device link " +
           v.member_id() + "` there, then `polder join CODE` here.\n");
  return kExitOk;
}

int CmdId(const Globals& g) {
  const app::Home home = ResolveHome(g);
  const auto key = Must(crypto::LoadKeyFile(home.key_file()));
  auto me = app::ReadProfile(home);
  v1::IdentityView v;
  v.set_member_id(crypto::FormatMemberId(key.public_key()));
  v.set_fingerprint(crypto::Fingerprint(key.public_key()));
  if (me) {
    v.set_name(me->name());
    v.set_organisation(me->organisation());
  }
  v.set_home(home.dir().string());
  v.set_key_file(home.key_file().string());
  Emit(g, v, v.member_id() + "\n");
  return kExitOk;
}

// The home was restored from a backup: continue the member's log after the events of theirs
// that peers (or an import) brought back, which its own log does not hold.
int CmdRestored(const Globals& g) {
  app::Session s = OpenSession(g, /*need_identity=*/true, /*write=*/true);
  v1::RestoredReport r;
  r.set_adopted(Must(s.AdoptHeldOwnEvents()));
  auto own = Must(s.replica().state().OwnLog(s.key().public_key()));
  r.set_next_seq(own.head_seq + 1);
  Emit(g, r,
       r.adopted() == 0 ? "Nothing to adopt: this home wrote every event of yours held here.\n"
                        : "✓ Adopted " + std::to_string(r.adopted()) +
                              " event(s) of yours held here; your next event takes seq " +
                              std::to_string(r.next_seq()) + ".\n");
  return kExitOk;
}

}  // namespace

void RegisterIdentityCommands(CLI::App& app, const Globals& g, Runner& run) {
  auto a = std::make_shared<InitArgs>();  // kept alive by the callback, which the app holds
  auto* init = app.add_subcommand("init", "create your identity (Ed25519 key, mode 0600)");
  init->add_option("--name", a->name, "your name as others will see it")->required();
  init->add_option("--org", a->org, "your organisation")->required();
  init->add_option("--role", a->role, "your role in your organisation");
  init->add_flag("--leader", a->leader, "you hold a formal leadership position");
  init->callback([&g, &run, a] { run = [&g, a] { return CmdInit(g, *a); }; });

  app.add_subcommand("id", "print your member ID")->callback([&g, &run] {
    run = [&g] { return CmdId(g); };
  });

  app.add_subcommand("restored",
                     "you restored this home from a backup (and no other machine has your key): "
                     "continue your log after your events that peers hold")
      ->callback([&g, &run] { run = [&g] { return CmdRestored(g); }; });
}

}  // namespace polder::cli
