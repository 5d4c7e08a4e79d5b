// `polder circle create` (found a circle: its charter and network key), `polder admit` (admit a
// member; prints their join code) and `polder join` (join a circle with a join code).
#include <algorithm>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "crypto/key_file.h"
#include "crypto/member_id.h"
#include "node/api/client.h"
#include "node/app/access.h"
#include "node/app/join_code.h"
#include "node/app/network_keys.h"
#include "node/cli/amount.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "node/cli/rule_options.h"
#include "node/cli/tally_cmd.h"
#include "node/decide/tally.h"
#include "polder/v1/api.pb.h"
#include "proto/money.h"
#include "storage/limits.h"
#include "storage/rulebook/limits.h"
#include "storage/rulebook/sign.h"

namespace polder::cli {
namespace {

using app::Session;

struct CharterArgs {
  std::string name, purpose, pool, unit = "EUR", window = "7d", quorum = "50%", approval = "50%";
  std::string weighting = "member", allocation = "greedy", blocking = "high";
  std::string max_share = "100%", max_org_share = "100%", quorum_by = "members";
  std::string removal_share;     // empty: the default
  std::string late_flag_window;  // empty: the default
  std::uint32_t decimals = 2, acceptances = 2, admission = 1, admission_orgs = 2;
  std::vector<std::string> organisations;
  std::vector<std::string> partners;   // "MEMBER-ID,ORG,NAME"
  std::string expires = "7d";          // of the partners' join codes
  std::vector<std::string> addresses;  // in the partners' join codes
};

struct Partner {
  MemberKey key;
  std::string org, name;
};

// `--partner MEMBER-ID,ORG,NAME` (the name may hold commas), each once, none the founder.
std::vector<Partner> ParsePartners(const std::vector<std::string>& given, const MemberKey& me) {
  std::vector<Partner> out;
  for (const auto& text : given) {
    const auto a = text.find(',');
    const auto b = a == std::string::npos ? a : text.find(',', a + 1);
    if (b == std::string::npos) {
      Usage("--partner takes MEMBER-ID,ORGANISATION,NAME; not '" + text + "'");
    }
    Partner p;
    p.key = Must(crypto::ParseMemberId(text.substr(0, a)));
    p.org = text.substr(a + 1, b - a - 1);
    p.name = text.substr(b + 1);
    if (p.org.empty() || p.name.empty()) {
      Usage("--partner '" + text + "' needs an organisation and a name");
    }
    if (p.key == me) Usage("you found the circle; list only the other founding partners");
    for (const auto& q : out) {
      if (q.key == p.key) Usage("--partner names " + crypto::Fingerprint(p.key) + " twice");
    }
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const Partner& x, const Partner& y) { return x.key < y.key; });
  return out;
}

int CmdCircleCreate(const Globals& g, const CharterArgs& a) {
  Session s = OpenSession(g, true, true);
  if (s.replica().circle()) {
    Usage("this replica already belongs to a circle; use another --home for another circle");
  }
  if (a.decimals > rulebook::kMaxDecimals) Usage("--decimals must be 0 to 6");
  if (a.partners.size() > rulebook::kMaxFoundingPartners) {
    Usage("a charter lists at most " + std::to_string(rulebook::kMaxFoundingPartners) +
          " founding partners");
  }
  const auto partners = ParsePartners(a.partners, s.key().public_key());
  const std::int64_t expires_ms = JoinCodeExpiry(a.expires);
  const auto me = Must(app::ReadProfile(s.home()));
  v1::Charter c;
  c.set_name(a.name);
  c.set_purpose(a.purpose);
  c.set_pool_minor(Must(ParseMoney(a.pool, a.decimals)).minor());
  c.set_unit(a.unit);
  c.set_decimals(a.decimals);
  *c.mutable_founder() = me;
  RuleArgs rules;
  rules.window = a.window;
  rules.quorum = a.quorum;
  rules.approval = a.approval;
  rules.weighting = a.weighting;
  rules.allocation = a.allocation;
  rules.blocking = a.blocking;
  rules.max_share = a.max_share;
  rules.max_org_share = a.max_org_share;
  rules.acceptances = a.acceptances;
  rules.admission = a.admission;
  rules.admission_orgs = a.admission_orgs;
  rules.organisations = a.organisations;
  if (std::find(a.organisations.begin(), a.organisations.end(), me.organisation()) ==
      a.organisations.end()) {
    rules.organisations.insert(rules.organisations.begin(), me.organisation());
  }
  for (const auto& p : partners) {
    if (std::find(rules.organisations.begin(), rules.organisations.end(), p.org) ==
        rules.organisations.end()) {
      rules.organisations.push_back(p.org);
    }
    auto* fm = c.add_partners();
    fm->set_member(p.key.str());
    fm->mutable_info()->set_name(p.name);
    fm->mutable_info()->set_organisation(p.org);
  }
  rules.quorum_by = a.quorum_by;
  rules.removal_share = a.removal_share;
  rules.late_flag_window = a.late_flag_window;
  ApplyRules(rules, c.mutable_rules());
  std::string salt(16, '\0');
  crypto::RandomBytes(std::span(reinterpret_cast<std::uint8_t*>(salt.data()), salt.size()));
  c.set_salt(salt);
  // Authoring the charter names the circle: its id is the charter's hash.
  auto authored = Must(s.Author([&](v1::EventBody& b) { *b.mutable_charter() = c; }));
  const CircleId circle = s.replica().circle().value_or(CircleId{});
  // The network key: only holders can open a session with this circle's nodes.
  Bytes network_key(32);
  crypto::RandomBytes(std::span(network_key.data(), network_key.size()));
  std::error_code ec;
  std::filesystem::remove(s.home().network_key_file(), ec);  // a leftover of no circle
  Must(crypto::WriteSecretFile(s.home().network_key_file(), app::kNetworkKeyHeader, network_key));
  std::string human = "✓ Created circle \"" + a.name + "\" (" + circle.hex().substr(0, 16) +
                      ")\n  pool " +
                      FormatMoney(Money(c.pool_minor()), s.replica().views().CircleCurrency()) +
                      "; you are its first member";
  std::vector<v1::PartnerCode> codes;
  for (const auto& p : partners) {
    v1::PartnerCode pc;
    pc.set_member_id(crypto::FormatMemberId(p.key));
    pc.set_name(p.name);
    pc.set_organisation(p.org);
    pc.set_join_code(MakeJoinCode(s, a.addresses, p.key, /*device=*/false, expires_ms));
    human += "\n  founding partner " + p.name + " (" + crypto::Fingerprint(p.key) + ") of " +
             p.org +
             ": a member from the charter on; their join code (SECRET: send it privately, "
             "once):\n\n" +
             pc.join_code() + "\n";
    codes.push_back(std::move(pc));
  }
  if (!partners.empty()) {
    human +=
        "\n  the first round becomes final once a majority of you and your partners have "
        "sealed it: each partner joins and runs `polder node`";
  }
  if (partners.empty()) {
    human +=
        "\n  (founded alone: until a second round, backdated admissions can still change the "
        "first round; list founding partners with --partner to close that, docs/protocol.md §15)";
  }
  human +=
      "\n  next: `polder node` to run your node, then `polder admit MEMBER-ID --name NAME "
      "--org ORG`";
  PrintReceipt(g, s, authored, human, "", codes);
  return kExitOk;
}

struct AdmitArgs {
  std::string member_id, name, org, role, expires = "7d";
  bool leader = false;
  std::vector<std::string> addresses;
};

// The circle's organisations now (the charter's, and those adopted rule changes added), joined
// for people.
std::string OrganisationList(const decide::Rules& rules) {
  std::string out;
  for (const auto& o : rules.organisations) out += (out.empty() ? "" : ", ") + o;
  return out;
}

int CmdAdmit(const Globals& g, const AdmitArgs& args) {
  Session s = OpenSession(g, true, true);
  const MemberKey key = Must(crypto::ParseMemberId(args.member_id));
  const std::int64_t expires_ms = JoinCodeExpiry(args.expires);
  const auto now = app::NowMs();
  const auto rules = decide::Tally(Must(FoldReplica(s.replica())).state, now).rules_now;
  if (!decide::Listed(rules, args.org)) {
    Usage("\"" + args.org + "\" is not one of the circle's organisations (" +
          OrganisationList(rules) +
          "); a member admitted into it would never count. Add it first with `polder "
          "propose-rules --title ... --add-organisations \"" +
          args.org + "\"`, adopted by a supermajority");
  }
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* adm = b.mutable_admit();
    adm->set_member(key.str());
    adm->mutable_info()->set_name(args.name);
    adm->mutable_info()->set_organisation(args.org);
    adm->mutable_info()->set_role(args.role);
    adm->mutable_info()->set_formal_leader(args.leader);
  }));
  std::string human =
      "✓ Admitted " + args.name + " (" + crypto::Fingerprint(key) + ") of " + args.org;
  const auto folded = Must(FoldReplica(s.replica()));
  for (const auto& st : decide::Standings(folded.state, rules, now)) {
    if (st.key == key && !st.eligible) {
      human += "\n  " + args.name + " does not count yet: " + st.why_not +
               " (another member runs the same `polder admit`)";
    }
  }
  const std::string code = MakeJoinCode(s, args.addresses, key, /*device=*/false, expires_ms);
  if (!code.empty()) {
    human += "\n  join code for " + args.name +
             " (SECRET: it holds the circle's network key; send it "
             "privately, once):\n\n" +
             code + "\n\n  they run: polder join CODE && polder node";
  }
  PrintReceipt(g, s, a, human, code);
  return kExitOk;
}

struct RemoveArgs {
  std::string member_id, reason;
};

int CmdRemove(const Globals& g, const RemoveArgs& args) {
  Session s = OpenSession(g, true, true);
  const MemberKey key = Must(crypto::ParseMemberId(args.member_id));
  if (key == s.key().public_key()) Usage("you cannot remove yourself");
  if (args.reason.empty()) Usage("--reason must say why");
  const auto now = app::NowMs();
  const auto before = Must(FoldReplica(s.replica()));
  const decide::Member* target = before.state.FindMember(key);
  if (!target) {
    Usage(crypto::Fingerprint(key) + " is not a member of this circle (see `polder members`)");
  }
  const std::string who = target->name + " (" + crypto::Fingerprint(key) + ")";
  // Refused rather than written when it would count for nothing.
  const auto standings =
      decide::Standings(before.state, decide::Tally(before.state, now).rules_now, now);
  for (const auto& st : standings) {
    if (st.key == key && st.removed) Usage(who + " is removed already");
    if (st.key == s.key().public_key() && !st.eligible) {
      Usage("only a member who counts (see `polder members`) can remove one: " + st.why_not);
    }
  }
  auto a = Must(s.Author([&](v1::EventBody& b) {
    b.mutable_removal()->set_member(key.str());
    b.mutable_removal()->set_reason(args.reason);
  }));
  const auto folded = Must(FoldReplica(s.replica()));
  const auto rules = decide::Tally(folded.state, now).rules_now;
  std::string human;
  for (const auto& st : decide::Standings(folded.state, rules, now)) {
    if (st.key != key) continue;
    if (st.removed) {
      human = "✓ " + who + " is removed: " + st.why_not +
              ". Their events from now on count for nothing and nodes close their sessions.";
    } else {
      human = "✓ You support removing " + who + " (" + std::to_string(st.removed_by.size()) +
              " so far). It takes effect once members reaching " +
              FormatPercent(rules.removal_bps) + " of the other eligible members (and at least " +
              std::to_string(decide::kMinRemovers) + ") have run `polder remove`.";
    }
  }
  PrintReceipt(g, s, a, human);
  return kExitOk;
}

// Seals a fresh network key to every member and device that may connect (docs/protocol.md §11).
// Through a running node, the node adopts it from its own box within a second; otherwise this
// home adopts it at once.
int CmdRotateNetworkKey(const Globals& g) {
  Session s = OpenSession(g, true, true);
  const auto now = app::NowMs();
  app::Access access(s.replica());
  Must(access.Refresh(now, true));
  if (!access.ready()) Usage("this home holds no circle yet");
  if (!access.Allows(s.key().public_key())) {
    Usage("only a member who counts (see `polder members`) can rotate the network key");
  }
  const app::KeyState& k = access.keys();
  const auto rotation = Must(app::NewRotation(k.recipients, s.key().public_key()));
  const auto& payloads = rotation.payloads;
  std::optional<Session::Authored> last;
  for (const auto& p : payloads) {
    last = Must(s.Author([&](v1::EventBody& b) { *b.mutable_network_key() = p; }));
  }
  if (!s.remote()) {
    auto keys = Must(app::NetworkKeys::Load(s.home()));
    Must(keys.Adopt(rotation.key, now));
  }
  PrintReceipt(g, s, *last,
               "✓ Sealed a new network key to " + std::to_string(k.recipients.size()) +
                   " members and devices (" + std::to_string(payloads.size()) + " event" +
                   (payloads.size() == 1 ? "" : "s") +
                   "). Nodes switch to it as the event reaches them; the old key still opens "
                   "sessions with members for 7 days, and then nothing (old join codes included).");
  return kExitOk;
}

int CmdJoin(const Globals& g, const std::string& text) {
  const auto code = Must(app::DecodeJoinCode(text));
  Session s = OpenSession(g, true, true);
  if (s.remote()) Usage("a node is running for this home; stop it before joining a circle");
  const auto circle = *CircleId::FromBytes(AsBytes(code.circle_id()));
  if (code.expires_ms() != 0 && app::NowMs() > code.expires_ms()) {
    Usage("this join code expired at " + FormatTime(code.expires_ms()) +
          "; ask the member who admitted you for a new one (`polder admit` again)");
  }
  if (!code.member().empty() && code.member() != s.key().public_key().str()) {
    Usage("this join code was made for another member (" +
          crypto::Fingerprint(*MemberKey::FromBytes(AsBytes(code.member()))) + "), not for you (" +
          crypto::Fingerprint(s.key().public_key()) + ")");
  }
  if (auto have = s.replica().circle(); have && *have != circle) {
    Usage("this home already belongs to another circle; use another --home");
  }
  const Bytes key(code.network_key().begin(), code.network_key().end());
  auto existing = crypto::LoadSecretFile(s.home().network_key_file(), app::kNetworkKeyHeader, 32);
  if (existing && *existing != key) Usage("this home holds a different network key");
  if (!existing) {
    Must(crypto::WriteSecretFile(s.home().network_key_file(), app::kNetworkKeyHeader, key));
  }
  if (!s.replica().circle()) Must(s.replica().SetCircle(circle));
  auto settings = Must(app::ReadNodeSettings(s.home()));
  for (const auto& a : code.addresses()) {
    if (std::find(settings.bootstrap.begin(), settings.bootstrap.end(), a) ==
        settings.bootstrap.end()) {
      settings.bootstrap.push_back(a);
    }
  }
  std::string device_note;
  if (auto member = MemberKey::FromBytes(AsBytes(code.device_of()))) {
    settings.device_of = crypto::FormatMemberId(*member);
    device_note = "  this machine is a device of member " + crypto::Fingerprint(*member) +
                  ": what you write here counts as theirs, from this machine's own log\n";
  }
  std::string inviter_note;
  if (auto inviter = MemberKey::FromBytes(AsBytes(code.inviter()))) {
    const std::string id = crypto::FormatMemberId(*inviter);
    if (std::find(settings.bootstrap_members.begin(), settings.bootstrap_members.end(), id) ==
        settings.bootstrap_members.end()) {
      settings.bootstrap_members.push_back(id);
    }
  } else {
    inviter_note =
        "  note: this join code names no inviter (it was made by an older polder), so until the "
        "circle's events are here your node accepts no peer; `polder import` a bundle from a "
        "member first\n";
  }
  Must(app::WriteNodeSettings(s.home(), settings));
  v1::JoinReport r;
  r.set_circle_id(circle.hex());
  for (const auto& a : code.addresses()) r.add_addresses(a);
  std::string h = "✓ Joined circle " + circle.hex().substr(0, 16) + "\n  nodes to sync from:";
  for (const auto& a : code.addresses()) h += " " + a;
  h += code.device_of().empty()
           ? "\n  next: `polder node` (your admission arrives with the circle's events)\n"
           : "\n  next: `polder node` (the link to this device arrives with the circle's events)\n";
  h += device_note + inviter_note;
  Emit(g, r, h);
  return kExitOk;
}

}  // namespace

void RegisterCircleCommands(CLI::App& app, const Globals& g, Runner& run) {
  // Each subcommand's arguments are kept alive by its callback, which the app holds.
  auto* circle = app.add_subcommand("circle", "circle commands");
  circle->require_subcommand(1);
  auto ca = std::make_shared<CharterArgs>();
  auto* create = circle->add_subcommand("create", "found a circle: write its charter");
  create->add_option("--name", ca->name, "circle name")->required();
  create->add_option("--purpose", ca->purpose, "the shared purpose proposals must serve")
      ->required();
  create->add_option("--pool", ca->pool, "budget pool, e.g. 50000 or 50000.00")->required();
  create->add_option("--unit", ca->unit, "currency or unit (default EUR)");
  create->add_option("--decimals", ca->decimals, "minor-unit digits (default 2)");
  create->add_option("--voting-window", ca->window, "default voting window, e.g. 7d (default 7d)");
  create->add_option("--quorum", ca->quorum, "share of members who must vote (default 50%)");
  create->add_option("--quorum-by", ca->quorum_by,
                     "members | weight: what the quorum share counts (default members)");
  create->add_option("--approval", ca->approval, "share of for/(for+against) needed (default 50%)");
  create->add_option("--weighting", ca->weighting, "member | org-balanced (default member)");
  create->add_option("--allocation", ca->allocation, "greedy | mes (default greedy)");
  create->add_option("--blocking-severity", ca->blocking,
                     "flag severity that blocks funding (default high)");
  create->add_option("--max-share", ca->max_share,
                     "largest share of the pool one proposal may take");
  create->add_option("--max-org-share", ca->max_org_share,
                     "largest share one organisation's proposals may take");
  create->add_option("--mitigation-acceptances", ca->acceptances,
                     "members who must accept a mitigation (default 2)");
  create->add_option("--admission-quorum", ca->admission,
                     "members who must admit a newcomer (default 1)");
  create
      ->add_option("--organisations", ca->organisations,
                   "the partner organisations (yours is added), comma-separated; members are "
                   "admitted into these only, and a rule change adds more")
      ->delimiter(',');
  create->add_option("--admission-orgs", ca->admission_orgs,
                     "organisations whose members must admit a newcomer (default 2; while fewer "
                     "have a member, every member must)");
  create->add_option("--removal-share", ca->removal_share,
                     "share of the other members whose removals remove a member (default 66.66%, "
                     "and never fewer than two)");
  create->add_option("--late-flag-window", ca->late_flag_window,
                     "a blocking flag raised this close to a deadline moves that proposal's "
                     "decision this much later, once, so that it can be answered (default 24h)");
  create->add_option("--partner", ca->partners,
                     "a founding partner, MEMBER-ID,ORGANISATION,NAME (repeat for each): a member "
                     "from the charter on, and with you the first round's committee; their join "
                     "codes are printed");
  create->add_option("--expires", ca->expires, kJoinCodeExpiresHelp);
  create->add_option("--address", ca->addresses,
                     "node address for the partners' join codes, host:port (default: [node] "
                     "advertise, or the listen address; repeatable)");
  create->callback([&g, &run, ca] { run = [&g, ca] { return CmdCircleCreate(g, *ca); }; });

  auto aa = std::make_shared<AdmitArgs>();
  auto* admit = app.add_subcommand("admit", "admit a new member by their member ID");
  admit->add_option("MEMBER_ID", aa->member_id, "the newcomer's member ID (from `polder id`)")
      ->required();
  admit->add_option("--name", aa->name, "their name")->required();
  admit->add_option("--org", aa->org, "their organisation")->required();
  admit->add_option("--role", aa->role, "their role");
  admit->add_flag("--leader", aa->leader, "they hold a formal leadership position");
  admit->add_option("--address", aa->addresses,
                    "node address for the join code, host:port (default: [node] advertise, or the "
                    "running node's)");
  admit->add_option("--expires", aa->expires, kJoinCodeExpiresHelp);
  admit->callback([&g, &run, aa] { run = [&g, aa] { return CmdAdmit(g, *aa); }; });

  auto ra = std::make_shared<RemoveArgs>();
  auto* remove = app.add_subcommand(
      "remove", "support removing a member (takes effect at the charter's removal share)");
  remove->add_option("MEMBER_ID", ra->member_id, "the member's ID (from `polder members --json`)")
      ->required();
  remove->add_option("--reason", ra->reason, "why, for every member to read")->required();
  remove->callback([&g, &run, ra] { run = [&g, ra] { return CmdRemove(g, *ra); }; });

  app.add_subcommand("rotate-network-key",
                     "seal a new network key to every member (after a leaked join code)")
      ->callback([&g, &run] { run = [&g] { return CmdRotateNetworkKey(g); }; });

  auto code = std::make_shared<std::string>();
  auto* join = app.add_subcommand("join", "join a circle with the join code a member gave you");
  join->add_option("CODE", *code, "the join code (polder1-...)")->required();
  join->callback([&g, &run, code] { run = [&g, code] { return CmdJoin(g, *code); }; });
}

}  // namespace polder::cli
