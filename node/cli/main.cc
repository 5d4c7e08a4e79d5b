// polder: the command-line program. One subcommand per action on a circle; every subcommand
// takes --json and returns the exit codes in node/cli/output.h.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include "crypto/identity.h"
#include "crypto/key_file.h"
#include "crypto/member_id.h"
#include "node/api/client.h"
#include "node/api/local_api.h"
#include "node/app/api_port.h"
#include "node/app/home.h"
#include "node/app/join_code.h"
#include "node/app/node.h"
#include "node/app/session.h"
#include "node/cli/amount.h"
#include "node/cli/as_of.h"
#include "node/cli/output.h"
#include "node/cli/tally_cmd.h"
#include "node/decide/allocate.h"
#include "node/decide/pabulib.h"
#include "node/sync/progress.h"
#include "polder/v1/api.pb.h"
#include "storage/bundle.h"
#include "storage/limits.h"

namespace polder::cli {
namespace {

using app::Home;
using app::Session;

// `polder node` logs catch-up progress this often (seconds) ...
constexpr int kProgressLogSeconds = 2;
// ... and "caught up" at info level for catch-ups of at least this many events (or that lasted
// a progress interval); the one-event catch-ups of ordinary gossip log at debug.
constexpr std::uint64_t kLogCatchUpEvents = 100;

struct Globals {
  std::string home;
  bool json = false;
};

// Thrown inside command bodies to leave with an error; caught once in Dispatch.
struct CommandError {
  Error error;
  bool usage = false;
};

template <class T>
T Must(Result<T> r) {
  if (!r) throw CommandError{r.error()};
  return std::move(*r);
}
void Must(const Status& s) {
  if (!s) throw CommandError{s.error()};
}
[[noreturn]] void Usage(std::string message) {
  throw CommandError{Error{Errc::kInvalidArgument, std::move(message)}, true};
}

Home ResolveHome(const Globals& g) {
  std::optional<std::filesystem::path> flag;
  if (!g.home.empty()) flag = g.home;
  return Must(Home::Resolve(flag));
}

Session OpenSession(const Globals& g, bool need_identity, bool write) {
  Session s = Must(Session::Open(ResolveHome(g), app::SessionOptions{need_identity, write}));
  for (const auto& note : s.notes()) std::cerr << "note: " << note << "\n";
  return s;
}

void Emit(const Globals& g, const google::protobuf::Message& m, const std::string& human) {
  if (g.json) {
    std::cout << ToJson(m) << "\n";
  } else {
    std::cout << human;
  }
}

void PrintReceipt(const Globals& g, Session& s, const Session::Authored& a,
                  const std::string& human) {
  v1::EventReceipt r;
  r.set_event_id(a.id.hex());
  r.set_kind(a.kind);
  r.set_seq(a.seq);
  r.set_author(crypto::FormatMemberId(s.key().public_key()));
  if (auto c = s.replica().circle()) r.set_circle_id(c->hex());
  Emit(g, r,
       human + "\n  event " + a.id.hex().substr(0, 12) + " (your seq " + std::to_string(a.seq) +
           ")\n");
}

EventId Resolve(Session& s, const std::string& prefix, const char* kind) {
  return Must(GivenId(s.replica().ResolvePrefix(prefix, kind)));
}

std::string Short(const std::string& hex) { return hex.substr(0, 12); }

v1::Severity ParseSeverity(const std::string& s) {
  if (s == "info") return v1::INFO;
  if (s == "low") return v1::LOW;
  if (s == "medium") return v1::MEDIUM;
  if (s == "high") return v1::HIGH;
  if (s == "critical") return v1::CRITICAL;
  Usage("severity must be info, low, medium, high or critical, not '" + s + "'");
}

// ---- commands --------------------------------------------------------------------------------

int CmdInit(const Globals& g, const std::string& name, const std::string& org,
            const std::string& role, bool leader) {
  const Home home = ResolveHome(g);
  if (home.HasIdentity()) {
    throw CommandError{Error{
        Errc::kAlreadyExists,
        "an identity already exists in " + home.dir().string() + "; refusing to overwrite it"}};
  }
  v1::MemberInfo me;
  me.set_name(name);
  me.set_organisation(org);
  me.set_role(role);
  me.set_formal_leader(leader);
  if (name.empty() || name.size() > storage::kMaxNameBytes) Usage("--name must be 1 to 120 bytes");
  if (org.empty() || org.size() > storage::kMaxNameBytes) Usage("--org must be 1 to 120 bytes");
  Must(home.Create());
  auto lock = Must(app::HomeLock::Acquire(home, std::chrono::seconds(10)));
  const auto key = crypto::SigningKey::Generate();
  Must(crypto::WriteKeyFile(home.key_file(), key));
  Must(app::WriteProfile(home, me));
  v1::IdentityView v;
  v.set_member_id(crypto::FormatMemberId(key.public_key()));
  v.set_fingerprint(crypto::Fingerprint(key.public_key()));
  v.set_name(name);
  v.set_organisation(org);
  v.set_home(home.dir().string());
  v.set_key_file(home.key_file().string());
  Emit(
      g, v,
      "✓ Created identity for " + name + " (" + org + ")\n" + "  member ID:   " + v.member_id() +
          "\n" + "  fingerprint: " + v.fingerprint() + "\n" + "  home:        " + v.home() + "\n" +
          "  key file:    " + v.key_file() + " (mode 0600; keep it private)\n\n" +
          "Next: start a circle with `polder circle create --name NAME --purpose TEXT --pool "
          "AMOUNT --unit EUR`,\n      or give your member ID to a member so they can admit you.\n");
  return kExitOk;
}

int CmdId(const Globals& g) {
  const Home home = ResolveHome(g);
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

// Decision-rule options: an empty string (or no value) leaves the rule as it is.
struct RuleArgs {
  std::string window, quorum, approval, weighting, allocation, blocking, max_share, max_org_share;
  std::string override_share, rule_change_share;
  std::string quorum_by;  // members | weight
  std::optional<std::uint32_t> acceptances, admission, seals;
};

void ApplyRules(const RuleArgs& a, v1::DecisionRules* r) {
  if (!a.window.empty()) r->set_voting_window_ms(Must(ParseDuration(a.window)));
  if (!a.quorum.empty()) r->set_quorum_bps(Must(ParsePercent(a.quorum)));
  if (!a.approval.empty()) r->set_approval_bps(Must(ParsePercent(a.approval)));
  if (a.weighting == "member") {
    r->set_weighting(v1::DecisionRules::ONE_MEMBER_ONE_VOTE);
  } else if (a.weighting == "org-balanced") {
    r->set_weighting(v1::DecisionRules::ORGANISATION_BALANCED);
  } else if (!a.weighting.empty()) {
    Usage("--weighting must be member or org-balanced");
  }
  if (a.allocation == "greedy") {
    r->set_allocation(v1::DecisionRules::GREEDY_APPROVAL);
  } else if (a.allocation == "mes") {
    r->set_allocation(v1::DecisionRules::EQUAL_SHARES);
  } else if (!a.allocation.empty()) {
    Usage("--allocation must be greedy or mes");
  }
  if (!a.blocking.empty()) r->set_blocking_severity(ParseSeverity(a.blocking));
  if (!a.max_share.empty()) r->set_max_share_per_proposal_bps(Must(ParsePercent(a.max_share)));
  if (!a.max_org_share.empty()) r->set_max_share_per_org_bps(Must(ParsePercent(a.max_org_share)));
  if (!a.override_share.empty()) r->set_override_bps(Must(ParsePercent(a.override_share)));
  if (!a.rule_change_share.empty()) {
    r->set_rule_change_bps(Must(ParsePercent(a.rule_change_share)));
  }
  if (a.acceptances) r->set_mitigation_acceptances(*a.acceptances);
  if (a.admission) r->set_admission_quorum(*a.admission);
  if (a.seals) r->set_seals_required(*a.seals);
  if (a.quorum_by == "weight") {
    r->set_quorum_by_weight(true);
  } else if (a.quorum_by == "members") {
    r->set_quorum_by_weight(false);
  } else if (!a.quorum_by.empty()) {
    Usage("--quorum-by must be members or weight");
  }
}

struct CharterArgs {
  std::string name, purpose, pool, unit = "EUR", window = "7d", quorum = "50%", approval = "50%";
  std::string weighting = "member", allocation = "greedy", blocking = "high";
  std::string max_share = "100%", max_org_share = "100%", quorum_by = "members";
  std::uint32_t decimals = 2, acceptances = 2, admission = 1;
};

int CmdCircleCreate(const Globals& g, const CharterArgs& a) {
  Session s = OpenSession(g, true, true);
  if (s.replica().circle()) {
    Usage("this replica already belongs to a circle; use another --home for another circle");
  }
  if (a.decimals > storage::kMaxDecimals) Usage("--decimals must be 0 to 6");
  const auto me = Must(app::ReadProfile(s.home()));
  v1::Charter c;
  c.set_name(a.name);
  c.set_purpose(a.purpose);
  c.set_pool_minor(Must(ParseAmount(a.pool, a.decimals)));
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
  rules.quorum_by = a.quorum_by;
  ApplyRules(rules, c.mutable_rules());
  std::string salt(16, '\0');
  crypto::RandomBytes(std::span(reinterpret_cast<std::uint8_t*>(salt.data()), salt.size()));
  c.set_salt(salt);
  const CircleId circle = storage::CircleIdFor(s.key().public_key(), AsBytes(salt));
  auto authored = Must(s.Author([&](v1::EventBody& b) {
    b.set_circle_id(circle.str());
    *b.mutable_charter() = c;
  }));
  // The network key: only holders can open a session with this circle's nodes.
  Bytes network_key(32);
  crypto::RandomBytes(std::span(network_key.data(), network_key.size()));
  std::error_code ec;
  std::filesystem::remove(s.home().network_key_file(), ec);  // a leftover of no circle
  Must(crypto::WriteSecretFile(s.home().network_key_file(), app::kNetworkKeyHeader, network_key));
  PrintReceipt(g, s, authored,
               "✓ Created circle \"" + a.name + "\" (" + circle.hex().substr(0, 16) + ")\n  pool " +
                   s.replica().FormatAmount(c.pool_minor()) + "; you are its first member\n" +
                   "  next: `polder node` to run your node, then `polder admit MEMBER-ID --name "
                   "NAME --org ORG`");
  return kExitOk;
}

// The addresses a newcomer's node should dial: --address flags, else the [node] advertise
// setting, else the running node's listen address.
std::vector<std::string> JoinAddresses(Session& s, const std::vector<std::string>& flags) {
  if (!flags.empty()) return flags;
  auto settings = Must(app::ReadNodeSettings(s.home()));
  if (!settings.advertise.empty()) return settings.advertise;
  if (auto client = api::ApiClient::Find(s.home().api_files())) {
    if (auto info = client->NodeInfo(); info && !info->listen().empty()) {
      std::string a = info->listen();
      if (a.rfind("0.0.0.0:", 0) == 0) a = "127.0.0.1:" + a.substr(8);
      return {a};
    }
  }
  std::string a = settings.listen;
  if (a.rfind("0.0.0.0:", 0) == 0) a = "127.0.0.1:" + a.substr(8);
  return {a};
}

int CmdAdmit(const Globals& g, const std::string& id, const std::string& name,
             const std::string& org, const std::string& role, bool leader,
             const std::vector<std::string>& addresses) {
  Session s = OpenSession(g, true, true);
  const MemberKey key = Must(crypto::ParseMemberId(id));
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* adm = b.mutable_admit();
    adm->set_member(key.str());
    adm->mutable_info()->set_name(name);
    adm->mutable_info()->set_organisation(org);
    adm->mutable_info()->set_role(role);
    adm->mutable_info()->set_formal_leader(leader);
  }));
  std::string human = "✓ Admitted " + name + " (" + crypto::Fingerprint(key) + ") of " + org;
  auto nk = crypto::LoadSecretFile(s.home().network_key_file(), app::kNetworkKeyHeader, 32);
  std::string code;
  if (nk) {
    v1::JoinCode jc;
    jc.set_circle_id(s.replica().circle()->str());
    jc.set_network_key(std::string(nk->begin(), nk->end()));
    for (const auto& addr : JoinAddresses(s, addresses)) jc.add_addresses(addr);
    jc.set_member(key.str());
    code = app::EncodeJoinCode(jc);
    human += "\n  join code for " + name +
             " (SECRET: it holds the circle's network key; send it "
             "privately, once):\n\n" +
             code + "\n\n  they run: polder join CODE && polder node";
  }
  if (g.json) {
    v1::EventReceipt r;
    r.set_event_id(a.id.hex());
    r.set_kind(a.kind);
    r.set_seq(a.seq);
    r.set_author(crypto::FormatMemberId(s.key().public_key()));
    r.set_circle_id(s.replica().circle()->hex());
    r.set_join_code(code);
    Emit(g, r, "");
  } else {
    PrintReceipt(g, s, a, human);
  }
  return kExitOk;
}

struct ProposeArgs {
  std::string title, body, amount, purpose_fit, deadline, topic;
  std::string at;  // an absolute deadline (RFC 3339 or Unix ms): proposals sharing one form a round
};

// The deadline of a proposal authored at `now_ms`: --deadline, else now + --voting-window, else
// now + the charter's window.
std::int64_t DeadlineOf(const v1::Charter& charter, const std::string& window,
                        const std::string& at, std::int64_t now_ms) {
  if (!at.empty() && !window.empty()) Usage("give --deadline or --voting-window, not both");
  if (!at.empty()) {
    const std::int64_t d = Must(ParseAsOf(at));
    if (d <= now_ms) Usage("--deadline must be in the future");
    return d;
  }
  std::int64_t w = charter.rules().voting_window_ms();
  if (w <= 0) w = 7 * 86'400'000LL;
  if (!window.empty()) w = Must(ParseDuration(window));
  return now_ms + w;
}

int CmdPropose(const Globals& g, const ProposeArgs& p) {
  Session s = OpenSession(g, true, true);
  const auto charter = Must(s.replica().Charter());
  const std::int64_t amount = Must(ParseAmount(p.amount, charter.decimals()));
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* pr = b.mutable_proposal();
    pr->set_title(p.title);
    pr->set_body(p.body);
    pr->set_amount_minor(amount);
    pr->set_purpose_fit(p.purpose_fit);
    pr->set_deadline_ms(DeadlineOf(charter, p.deadline, p.at, b.timestamp_ms()));
    pr->set_topic(p.topic);
  }));
  PrintReceipt(g, s, a,
               "✓ Proposed \"" + p.title + "\" for " + s.replica().FormatAmount(amount) + " (id " +
                   Short(a.id.hex()) + ")");
  return kExitOk;
}

struct RuleChangeArgs {
  std::string title, body, purpose_fit, window, at;
  RuleArgs rules;
};

// A rule-change proposal: the rules in force now (the charter's, as changed by the rule changes
// adopted in closed rounds), with the options given changed.
int CmdProposeRules(const Globals& g, const RuleChangeArgs& p) {
  Session s = OpenSession(g, true, true);
  const auto charter = Must(s.replica().Charter());
  const auto folded = Must(FoldReplica(s.replica()));
  const auto now = decide::Tally(folded.state, app::NowMs()).rules_now;
  v1::DecisionRules rules = decide::ToProto(now);
  ApplyRules(p.rules, &rules);
  if (decide::EffectiveRules(rules) == now) Usage("these are the rules in force already");
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* pr = b.mutable_proposal();
    pr->set_title(p.title);
    pr->set_body(p.body);
    pr->set_amount_minor(0);
    pr->set_purpose_fit(p.purpose_fit);
    pr->set_deadline_ms(DeadlineOf(charter, p.window, p.at, b.timestamp_ms()));
    *pr->mutable_rules() = rules;
  }));
  PrintReceipt(g, s, a,
               "✓ Proposed the rule change \"" + p.title + "\" (id " + Short(a.id.hex()) +
                   "); it applies to rounds after its own once adopted by a supermajority");
  return kExitOk;
}

int CmdVote(const Globals& g, const std::string& prefix, const std::string& choice) {
  Session s = OpenSession(g, true, true);
  v1::Choice c;
  if (choice == "for" || choice == "yes") {
    c = v1::FOR;
  } else if (choice == "against" || choice == "no") {
    c = v1::AGAINST;
  } else if (choice == "abstain") {
    c = v1::ABSTAIN;
  } else {
    Usage("vote must be for, against or abstain, not '" + choice + "'");
  }
  const EventId id = Resolve(s, prefix, "proposal");
  auto a = Must(s.Author([&](v1::EventBody& b) {
    b.mutable_vote()->set_proposal(id.str());
    b.mutable_vote()->set_choice(c);
  }));
  PrintReceipt(g, s, a, "✓ Voted " + choice + " on " + Short(id.hex()));
  return kExitOk;
}

int CmdFlag(const Globals& g, const std::string& prefix, const std::string& severity,
            const std::string& category, const std::string& rationale) {
  Session s = OpenSession(g, true, true);
  const EventId id = Resolve(s, prefix, "proposal");
  const auto sev = ParseSeverity(severity);
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* f = b.mutable_risk_flag();
    f->set_proposal(id.str());
    f->set_severity(sev);
    f->set_category(category);
    f->set_rationale(rationale);
  }));
  PrintReceipt(g, s, a,
               "✓ Flagged " + Short(id.hex()) + " as " + severity + " risk (flag " +
                   Short(a.id.hex()) + ")");
  return kExitOk;
}

int CmdResolve(const Globals& g, const std::string& prefix, bool withdraw,
               const std::string& answer, bool override_vote) {
  if (int{withdraw} + int{!answer.empty()} + int{override_vote} != 1) {
    Usage("give exactly one of --withdraw, --answer TEXT or --override");
  }
  Session s = OpenSession(g, true, true);
  const EventId id = Resolve(s, prefix, "flag");
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* r = b.mutable_flag_resolution();
    r->set_flag(id.str());
    r->set_kind(withdraw        ? v1::FlagResolution::WITHDRAW
                : override_vote ? v1::FlagResolution::OVERRIDE
                                : v1::FlagResolution::ANSWER);
    r->set_mitigation(answer);
  }));
  PrintReceipt(g, s, a,
               withdraw        ? "✓ Withdrew flag " + Short(id.hex())
               : override_vote ? "✓ Voted to override flag " + Short(id.hex())
                               : "✓ Answered flag " + Short(id.hex()) + " with a mitigation");
  return kExitOk;
}

int CmdEndorse(const Globals& g, const std::string& prefix, const std::string& note) {
  Session s = OpenSession(g, true, true);
  const EventId id = Resolve(s, prefix, "proposal");
  auto a = Must(s.Author([&](v1::EventBody& b) {
    b.mutable_endorsement()->set_proposal(id.str());
    b.mutable_endorsement()->set_note(note);
  }));
  PrintReceipt(g, s, a, "✓ Co-sponsoring " + Short(id.hex()));
  return kExitOk;
}

int CmdComment(const Globals& g, const std::string& on, const std::string& text) {
  Session s = OpenSession(g, true, true);
  std::optional<EventId> target;
  if (!on.empty()) target = Resolve(s, on, "");
  auto a = Must(s.Author([&](v1::EventBody& b) {
    if (target) b.mutable_comment()->set_target(target->str());
    b.mutable_comment()->set_text(text);
  }));
  PrintReceipt(g, s, a, "✓ Commented" + (target ? " on " + Short(target->hex()) : std::string()));
  return kExitOk;
}

int CmdDelegate(const Globals& g, const std::string& to, const std::string& topic, bool revoke) {
  if (revoke == !to.empty()) Usage("give a MEMBER-ID to delegate to, or --revoke");
  Session s = OpenSession(g, true, true);
  std::optional<MemberKey> key;
  if (!revoke) {
    key = Must(crypto::ParseMemberId(to));
    if (!s.replica().IsMember(*key)) Usage("that member is not admitted to this circle");
  }
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* d = b.mutable_delegation();
    if (key) d->set_delegate(key->str());
    d->set_topic(topic);
    d->set_revoke(revoke);
  }));
  const std::string scope = topic.empty() ? "all proposals" : "topic '" + topic + "'";
  PrintReceipt(g, s, a,
               revoke
                   ? "✓ Revoked your delegation for " + scope
                   : "✓ Delegated your vote on " + scope + " to " + s.replica().MemberLabel(*key));
  return kExitOk;
}

int CmdWithdraw(const Globals& g, const std::string& prefix, const std::string& reason) {
  Session s = OpenSession(g, true, true);
  const EventId id = Resolve(s, prefix, "proposal");
  auto a = Must(s.Author([&](v1::EventBody& b) {
    b.mutable_withdraw()->set_proposal(id.str());
    b.mutable_withdraw()->set_reason(reason);
  }));
  PrintReceipt(g, s, a, "✓ Withdrew proposal " + Short(id.hex()));
  return kExitOk;
}

int CmdList(const Globals& g) {
  Session s = OpenSession(g, false, false);
  const auto list = Must(s.replica().Proposals());
  Table t({"ID", "TITLE", "AMOUNT", "BY", "FOR", "AGAINST", "ABST", "CO-SP", "FLAGS", "STATE"});
  for (const auto& p : list.proposals()) {
    t.Row({Short(p.proposal_id()), p.title(), p.amount(),
           p.author_name() + " (" + p.organisation() + ")", std::to_string(p.votes_for()),
           std::to_string(p.votes_against()), std::to_string(p.votes_abstain()),
           std::to_string(p.endorsements()), std::to_string(p.open_flags()),
           p.withdrawn() ? "withdrawn" : "open"});
  }
  Emit(g, list, list.proposals_size() == 0 ? "No proposals yet.\n" : t.Render());
  return kExitOk;
}

int CmdMembers(const Globals& g) {
  Session s = OpenSession(g, false, false);
  const auto list = Must(s.replica().Members());
  Table t({"NAME", "ORGANISATION", "ROLE", "LEADER", "FINGERPRINT", "EVENTS", "NOTE"});
  for (const auto& m : list.members()) {
    t.Row({m.name(), m.organisation(), m.role(), m.formal_leader() ? "yes" : "no", m.fingerprint(),
           std::to_string(m.head_seq()), m.forked() ? "FORKED" : (m.founder() ? "founder" : "")});
  }
  Emit(g, list, t.Render());
  return kExitOk;
}

int CmdShow(const Globals& g, const std::string& prefix) {
  Session s = OpenSession(g, false, false);
  const EventId id = Resolve(s, prefix, "proposal");
  const auto d = Must(s.replica().ShowProposal(id));
  const auto& p = d.proposal();
  std::string h;
  h += p.title() + (p.withdrawn() ? "  [WITHDRAWN]" : "") + "\n";
  h += "  id:        " + p.proposal_id() + "\n";
  h += "  by:        " + p.author_name() + " (" + p.organisation() + ")\n";
  h += "  amount:    " + p.amount() + "\n";
  h += "  deadline:  " + FormatTime(p.deadline_ms()) + "\n";
  if (!p.topic().empty()) h += "  topic:     " + p.topic() + "\n";
  if (!p.purpose_fit().empty()) h += "  purpose:   " + p.purpose_fit() + "\n";
  if (!p.body().empty()) h += "\n" + p.body() + "\n";
  h += "\nVotes: " + std::to_string(p.votes_for()) + " for, " + std::to_string(p.votes_against()) +
       " against, " + std::to_string(p.votes_abstain()) + " abstain\n";
  for (const auto& v : d.votes())
    h += "  " + v.choice() + "\t" + v.name() + " (" + v.organisation() + ")\n";
  if (d.endorsers_size() > 0) {
    h += "Co-sponsors:\n";
    for (const auto& m : d.endorsers()) h += "  " + m.name() + " (" + m.organisation() + ")\n";
  }
  if (d.flags_size() > 0) {
    h += "Risk flags:\n";
    for (const auto& f : d.flags()) {
      h += "  " + Short(f.flag_id()) + "  " + f.severity() + "  " + f.category() + "  [" +
           f.state() + "] by " + f.flagger() + "\n      " + f.rationale() + "\n";
      for (const auto& r : f.resolutions()) {
        h += "      " + r.kind() + " by " + r.author() +
             (r.mitigation().empty() ? "" : ": " + r.mitigation()) + "\n";
      }
    }
  }
  if (d.comments_size() > 0) {
    h += "Comments:\n";
    for (const auto& c : d.comments()) h += "  " + c.author() + ": " + c.text() + "\n";
  }
  Emit(g, d, h);
  return kExitOk;
}

sync::Progress ProgressOf(const v1::SyncView& y) {
  sync::Progress p;
  p.catching_up = y.catching_up();
  p.received = y.received();
  p.expected = y.expected();
  p.missing = y.missing();
  p.rate_events_per_s = y.rate_events_per_s();
  if (y.has_eta_s()) p.eta_s = y.eta_s();
  p.elapsed_s = y.elapsed_s();
  return p;
}

int CmdStatus(const Globals& g) {
  Session s = OpenSession(g, false, false);
  auto& r = s.replica();
  v1::StatusView v;
  v.set_replica(s.home().replica_file().string());
  if (auto c = r.circle()) v.set_circle_id(c->hex());
  if (auto ch = r.Charter()) {
    v.set_circle_name(ch->name());
    v.set_purpose(ch->purpose());
    v.set_pool(r.FormatAmount(ch->pool_minor()));
  }
  const auto members = Must(r.Members());
  v.set_members(static_cast<std::uint32_t>(members.members_size()));
  for (const auto& m : members.members()) {
    if (m.forked()) v.add_forked_members(m.name() + " (" + m.fingerprint() + ")");
  }
  v.set_proposals(static_cast<std::uint32_t>(Must(r.Proposals()).proposals_size()));
  const auto counts = Must(r.Counts());
  v.set_events(counts.applied);
  v.set_pending(counts.pending);
  v.set_forked(counts.forked_authors);
  v.set_digest(Must(r.StateDigest()).hex());
  if (s.has_identity()) {
    v.set_member_id(crypto::FormatMemberId(s.key().public_key()));
    v.set_own_head_seq(Must(r.OwnLog(s.key().public_key())).head_seq);
  }
  for (auto& w : s.Warnings()) v.add_warnings(w);
  if (auto client = api::ApiClient::Find(s.home().api_files())) {
    if (auto info = client->NodeInfo()) *v.mutable_node() = *info;
  }
  std::string h;
  h += "circle:    " + (v.circle_name().empty() ? std::string("(none yet)") : v.circle_name()) +
       (v.circle_id().empty() ? "" : "  " + v.circle_id().substr(0, 16)) + "\n";
  if (!v.purpose().empty()) h += "purpose:   " + v.purpose() + "\n";
  if (!v.pool().empty()) h += "pool:      " + v.pool() + "\n";
  h += "members:   " + std::to_string(v.members()) + "\n";
  h += "proposals: " + std::to_string(v.proposals()) + "\n";
  h += "events:    " + std::to_string(counts.applied) + " applied, " +
       std::to_string(counts.pending) + " pending, " + std::to_string(counts.frozen) + " frozen\n";
  h += "forked:    " + std::to_string(counts.forked_authors);
  for (const auto& f : v.forked_members()) h += "  " + f;
  h += "\n";
  h += "digest:    " + v.digest() + "\n";
  if (!v.member_id().empty())
    h += "you:       " + v.member_id() + " (seq " + std::to_string(v.own_head_seq()) + ")\n";
  for (const auto& w : v.warnings()) h += "warning:   " + w + "\n";
  if (v.has_node()) {
    const auto& n = v.node();
    h += "node:      running (pid " + std::to_string(n.pid()) + "), listening on " + n.listen() +
         ", " + std::to_string(n.peers_size()) + " peers\n";
    for (const auto& p : n.peers()) {
      h +=
          "  peer     " + p.name() + " " + p.address() + (p.outbound() ? " (out)" : " (in)") + "\n";
    }
    const auto& y = n.sync();
    h += "sync:      " + std::to_string(y.events_stored()) + " events received new, " +
         std::to_string(y.duplicates()) + " duplicates, " + std::to_string(y.refused()) +
         " refused, " + std::to_string(y.events_sent()) + " sent";
    h += "\n";
    if (y.catching_up() || y.expected() > 0) {
      h += std::string(y.catching_up() ? "catch-up:  " : "caught up: ") +
           sync::DescribeProgress(ProgressOf(y)) + "\n";
    }
  } else {
    h += "node:      not running (`polder node` starts it)\n";
  }
  Emit(g, v, h);
  return kExitOk;
}

int CmdJoin(const Globals& g, const std::string& text) {
  const auto code = Must(app::DecodeJoinCode(text));
  Session s = OpenSession(g, true, true);
  if (s.remote()) Usage("a node is running for this home; stop it before joining a circle");
  const auto circle = *CircleId::FromBytes(AsBytes(code.circle_id()));
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
  Must(app::WriteNodeSettings(s.home(), settings));
  v1::JoinReport r;
  r.set_circle_id(circle.hex());
  for (const auto& a : code.addresses()) r.add_addresses(a);
  std::string h = "✓ Joined circle " + circle.hex().substr(0, 16) + "\n  nodes to sync from:";
  for (const auto& a : code.addresses()) h += " " + a;
  h += "\n  next: `polder node` (your admission arrives with the circle's events)\n";
  Emit(g, r, h);
  return kExitOk;
}

struct NodeArgs {
  std::string listen;
  std::vector<std::string> peers, advertise;
  std::string log_level;
  std::string api_listen = "127.0.0.1";
};

int CmdNode(const Globals& g, const NodeArgs& a) {
  if (const char* env = std::getenv("POLDER_LOG"); env && *env) spdlog::cfg::load_env_levels();
  if (!a.log_level.empty()) spdlog::set_level(spdlog::level::from_str(a.log_level));
  const Home home = ResolveHome(g);
  auto opened = Session::Open(home, app::SessionOptions{true, true, /*allow_remote=*/false});
  if (!opened) {
    if (opened.error().code == Errc::kUnavailable) {
      throw CommandError{
          Error{Errc::kUnavailable, "another polder process holds " + home.dir().string() +
                                        " (is a node already running for this home?)"}};
    }
    Must(std::move(opened));
  }
  Session& s = *opened;
  if (!s.replica().circle()) {
    Usage("this home belongs to no circle: run `polder circle create ...` or `polder join CODE`");
  }
  auto nk = Must(crypto::LoadSecretFile(home.network_key_file(), app::kNetworkKeyHeader, 32));
  std::array<std::uint8_t, 32> network_key{};
  std::copy(nk.begin(), nk.end(), network_key.begin());
  auto settings = Must(app::ReadNodeSettings(home));
  app::NodeConfig cfg;
  cfg.listen = a.listen.empty() ? settings.listen : a.listen;
  cfg.advertise = a.advertise.empty() ? settings.advertise : a.advertise;
  cfg.bootstrap = settings.bootstrap;
  cfg.bootstrap.insert(cfg.bootstrap.end(), a.peers.begin(), a.peers.end());
  asio::io_context io;
  app::Node node(io, s, cfg, network_key);
  Must(node.Start());
  app::NodeApiPort api_port(node);
  api::LocalApi api(io.get_executor(), api_port, home.api_files(),
                    Must(app::ReadApiSettings(home)));
  Must(api.Start(a.api_listen, 0));
  // Catch-up progress: a line every few seconds while peers hold what this node lacks, and one
  // when it has caught up (at debug for the brief catch-ups of ordinary gossip).
  node.on_caught_up = [](const sync::Progress& p) {
    const bool worth_a_line = p.received >= kLogCatchUpEvents || p.elapsed_s >= kProgressLogSeconds;
    spdlog::log(worth_a_line ? spdlog::level::info : spdlog::level::debug,
                "caught up: {} events in {}", p.received, sync::DescribeSeconds(p.elapsed_s));
  };
  asio::steady_timer progress_timer(io);
  bool stopping = false;  // a wait that completed just before cancel() must not re-arm the timer
  std::function<void()> log_progress = [&] {
    progress_timer.expires_after(std::chrono::seconds(kProgressLogSeconds));
    progress_timer.async_wait([&](const std::error_code& ec) {
      if (ec || stopping) return;
      const auto& p = node.progress();
      if (p.catching_up && p.elapsed_s >= 1) {
        spdlog::info("catching up: {}", sync::DescribeProgress(p));
      }
      log_progress();
    });
  };
  log_progress();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping", sig);
    // Not api.Stop() here: a request in flight waits for this thread, which would wait for it.
    api.Withdraw();
    stopping = true;
    progress_timer.cancel();
    node.Stop();
  });
  const auto ep = node.local_endpoint();
  std::cerr << "polder node: member " << crypto::Fingerprint(s.key().public_key())
            << ", listening on " << ep.address().to_string() << ":" << ep.port()
            << ", local API on 127.0.0.1:" << api.port() << " (Ctrl-C stops)" << std::endl;
  io.run();
  api.Stop();
  std::cerr << "polder node: stopped" << std::endl;
  return kExitOk;
}

int CmdExport(const Globals& g, const std::string& file, bool force) {
  Session s = OpenSession(g, false, false);
  const auto circle = s.replica().circle();
  if (!circle) Usage("this replica belongs to no circle; nothing to export");
  auto w = Must(storage::BundleWriter::Create(file, *circle, force));
  std::uint64_t n = 0;
  Must(s.replica().ForEachEvent([&](ByteView ev) -> Status {
    ++n;
    return w.Add(ev);
  }));
  Must(w.Finish());
  v1::ExportReport r;
  r.set_file(file);
  r.set_events(n);
  Emit(g, r, "✓ Exported " + std::to_string(n) + " events to " + file + "\n");
  return kExitOk;
}

int CmdImport(const Globals& g, const std::string& file) {
  Session s = OpenSession(g, false, true);
  auto& r = s.replica();
  // Check the whole file first: a damaged file is refused before anything changes.
  const auto info = Must(storage::ReadBundle(file, nullptr));
  if (r.circle() && *r.circle() != info.circle) {
    throw CommandError{Error{Errc::kRefused, file + " holds events of another circle (" +
                                                 info.circle.hex().substr(0, 16) + ")"}};
  }
  const bool joining = !r.circle();
  v1::ImportReport rep;
  rep.set_file(file);
  rep.set_events_in_file(info.events);
  std::vector<Bytes> batch;
  std::size_t batch_bytes = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) return {};
    storage::IngestOptions opt{app::NowMs()};
    if (joining) opt.adopt_circle = info.circle;  // joined with the first event stored
    auto results = r.Ingest(batch, opt);
    if (!results) return Unexpected<Error>{results.error()};
    for (const auto& res : *results) {
      switch (res.outcome) {
        case storage::Outcome::kApplied: rep.set_applied(rep.applied() + 1); break;
        case storage::Outcome::kPending: rep.set_pending(rep.pending() + 1); break;
        case storage::Outcome::kDuplicate: rep.set_duplicates(rep.duplicates() + 1); break;
        case storage::Outcome::kEquivocation: rep.set_equivocations(rep.equivocations() + 1); break;
        case storage::Outcome::kVoid: {
          rep.set_voided(rep.voided() + 1);
          if (rep.refusals_size() < 100) {
            auto* x = rep.add_refusals();
            x->set_event_id(res.id.hex());
            x->set_code(std::string("void:") + storage::ToString(res.refusal->code));
            x->set_message("kept in its author's log without effect: " + res.refusal->message);
          }
          break;
        }
        case storage::Outcome::kRefused: {
          rep.set_refused(rep.refused() + 1);
          if (rep.refusals_size() < 100) {
            auto* x = rep.add_refusals();
            x->set_event_id(res.id.zero() ? "" : res.id.hex());
            x->set_code(storage::ToString(res.refusal->code));
            x->set_message(res.refusal->message);
          }
          break;
        }
      }
    }
    batch.clear();
    batch_bytes = 0;
    return {};
  };
  Must(storage::ReadBundle(file, [&](ByteView ev) -> Status {
    batch.emplace_back(ev.begin(), ev.end());
    batch_bytes += ev.size();
    if (batch.size() >= storage::kImportBatchEvents || batch_bytes >= storage::kImportBatchBytes) {
      return flush();
    }
    return {};
  }));
  Must(flush());
  if (joining && r.circle()) {
    std::cerr << "note: this replica now follows circle " << info.circle.hex().substr(0, 16)
              << "\n";
  }
  rep.set_digest(Must(r.StateDigest()).hex());
  std::string h =
      "✓ Imported " + file + ": " + std::to_string(rep.applied()) + " applied, " +
      std::to_string(rep.duplicates()) + " already held, " + std::to_string(rep.pending()) +
      " pending, " + std::to_string(rep.equivocations()) + " equivocations, " +
      std::to_string(rep.voided()) + " void, " + std::to_string(rep.refused()) + " refused\n";
  for (const auto& x : rep.refusals()) {
    h += "  refused " + Short(x.event_id()) + ": " + x.code() + ": " + x.message() + "\n";
  }
  if (rep.equivocations() > 0)
    h += "  warning: some members signed two different events at one sequence number; see `polder "
         "status`\n";
  h += "  digest " + rep.digest() + "\n";
  Emit(g, rep, h);
  return rep.refused() > 0 ? kExitRefused : kExitOk;
}

int CmdRebuild(const Globals& g) {
  Session s = OpenSession(g, false, true);
  const auto before = Must(s.replica().StateDigest());
  Must(s.replica().Rebuild());
  const auto after = Must(s.replica().StateDigest());
  v1::VerifyReport r;
  r.set_digest(after.hex());
  r.set_derived_state_matches(before == after);
  Emit(g, r,
       "✓ Rebuilt derived state from events\n  digest " + after.hex() +
           (before == after ? " (unchanged)\n" : " (it was " + before.hex() + ")\n"));
  return kExitOk;
}

int CmdVerify(const Globals& g) {
  Session s = OpenSession(g, false, true);
  const auto r = Must(s.replica().Verify());
  std::string h = "checked " + std::to_string(r.events_checked()) +
                  " events: " + std::to_string(r.bad()) + " bad\n";
  for (const auto& p : r.problems()) h += "  " + Short(p.event_id()) + ": " + p.message() + "\n";
  h += std::string("derived state ") + (r.derived_state_matches() ? "matches" : "DOES NOT MATCH") +
       " a rebuild from events\n";
  h += "digest " + r.digest() + "\n";
  Emit(g, r, h);
  return r.bad() == 0 && r.derived_state_matches() ? kExitOk : kExitFailed;
}

// `polder tally` and `polder audit` (node/cli/tally_cmd.cc): read the replica, never write.
int CmdTally(const Globals& g, const TallyArgs& a) {
  Session s = OpenSession(g, false, false);
  auto out = Must(RunTally(s, a));
  Emit(g, *out.view, out.text);
  return kExitOk;
}

int CmdAudit(const Globals& g, const AuditArgs& a) {
  Session s = OpenSession(g, false, false);
  auto out = Must(RunAudit(s, a));
  Emit(g, *out.view, out.text);
  return kExitOk;
}

struct PbArgs {
  std::string file, rule, utility = "cost", completion = "add1";
  bool mes_options_given = false;
};

// Runs an allocation method on a Pabulib file; prints the funded project ids one per line, in
// the order they were funded.
int CmdPb(const Globals& g, const PbArgs& a) {
  if (a.rule == "greedy" && a.mes_options_given) {
    Usage("--utility and --completion apply to --rule mes only");
  }
  std::ifstream in(a.file, std::ios::binary);
  if (!in) throw CommandError{Error{Errc::kIo, "cannot open " + a.file}};
  auto parsed = decide::ReadPabulib(in);
  if (!parsed) {
    throw CommandError{Error{parsed.error().code, a.file + ": " + parsed.error().message}};
  }
  const decide::PabulibFile& pb = *parsed;
  decide::MesOptions opt;
  opt.utility = a.utility == "approval" ? decide::Utility::kApproval : decide::Utility::kCost;
  opt.completion = a.completion == "none" ? decide::Completion::kNone : decide::Completion::kAdd1;
  const auto r =
      Must(a.rule == "greedy" ? decide::Greedy(pb.instance) : decide::Mes(pb.instance, opt));
  v1::PbOutcomeView v;
  v.set_file(a.file);
  v.set_rule(a.rule);
  if (a.rule == "mes") {
    v.set_utility(decide::ToString(opt.utility));
    v.set_completion(decide::ToString(opt.completion));
    v.set_voter_budget_minor(r.voter_budget.ToString());
    v.set_mes_runs(r.mes_runs);
    v.set_add1_raise(r.add1_raise);
    v.set_add1_capped(r.add1_capped);
  }
  v.set_budget(decide::FormatMoney(pb.instance.budget, pb.decimals));
  v.set_total_cost(decide::FormatMoney(r.total_cost, pb.decimals));
  v.set_voters(pb.instance.approvals.size());
  v.set_decimals(pb.decimals);
  std::string h;
  for (const auto& f : r.funded) {
    const auto& id = pb.instance.projects[f.project].id;
    v.add_funded(id);
    auto* p = v.add_projects();
    p->set_project_id(id);
    p->set_cost(decide::FormatMoney(f.cost, pb.decimals));
    p->set_approvals(f.approvals);
    p->set_step(decide::ToString(f.step));
    if (f.step == decide::Step::kMes) p->set_price(f.price.ToString());
    h += id + "\n";
  }
  if (r.add1_capped) {
    std::cerr << "note: add1 stopped after " << r.add1_raise << " raises (the limit)\n";
  }
  Emit(g, v, h);
  return kExitOk;
}

}  // namespace

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
  std::function<int()> run;

  std::string name, org, role, text, prefix, severity, category, rationale, note, topic, file,
      choice;
  bool leader = false, flag_a = false, force = false;

  auto* init = app.add_subcommand("init", "create your identity (Ed25519 key, mode 0600)");
  init->add_option("--name", name, "your name as others will see it")->required();
  init->add_option("--org", org, "your organisation")->required();
  init->add_option("--role", role, "your role in your organisation");
  init->add_flag("--leader", leader, "you hold a formal leadership position");
  init->callback([&] { run = [&] { return CmdInit(g, name, org, role, leader); }; });

  app.add_subcommand("id", "print your member ID")->callback([&] {
    run = [&] { return CmdId(g); };
  });

  auto* circle = app.add_subcommand("circle", "circle commands");
  circle->require_subcommand(1);
  CharterArgs ca;
  auto* create = circle->add_subcommand("create", "found a circle: write its charter");
  create->add_option("--name", ca.name, "circle name")->required();
  create->add_option("--purpose", ca.purpose, "the shared purpose proposals must serve")
      ->required();
  create->add_option("--pool", ca.pool, "budget pool, e.g. 50000 or 50000.00")->required();
  create->add_option("--unit", ca.unit, "currency or unit (default EUR)");
  create->add_option("--decimals", ca.decimals, "minor-unit digits (default 2)");
  create->add_option("--voting-window", ca.window, "default voting window, e.g. 7d (default 7d)");
  create->add_option("--quorum", ca.quorum, "share of members who must vote (default 50%)");
  create->add_option("--quorum-by", ca.quorum_by,
                     "members | weight: what the quorum share counts (default members)");
  create->add_option("--approval", ca.approval, "share of for/(for+against) needed (default 50%)");
  create->add_option("--weighting", ca.weighting, "member | org-balanced (default member)");
  create->add_option("--allocation", ca.allocation, "greedy | mes (default greedy)");
  create->add_option("--blocking-severity", ca.blocking,
                     "flag severity that blocks funding (default high)");
  create->add_option("--max-share", ca.max_share,
                     "largest share of the pool one proposal may take");
  create->add_option("--max-org-share", ca.max_org_share,
                     "largest share one organisation's proposals may take");
  create->add_option("--mitigation-acceptances", ca.acceptances,
                     "members who must accept a mitigation (default 2)");
  create->add_option("--admission-quorum", ca.admission,
                     "members who must admit a newcomer (default 1)");
  create->callback([&] { run = [&] { return CmdCircleCreate(g, ca); }; });

  std::string member_id;
  auto* admit = app.add_subcommand("admit", "admit a new member by their member ID");
  admit->add_option("MEMBER_ID", member_id, "the newcomer's member ID (from `polder id`)")
      ->required();
  admit->add_option("--name", name, "their name")->required();
  admit->add_option("--org", org, "their organisation")->required();
  admit->add_option("--role", role, "their role");
  admit->add_flag("--leader", leader, "they hold a formal leadership position");
  std::vector<std::string> addresses;
  admit->add_option("--address", addresses,
                    "node address for the join code, host:port (default: [node] advertise, or the "
                    "running node's)");
  admit->callback(
      [&] { run = [&] { return CmdAdmit(g, member_id, name, org, role, leader, addresses); }; });

  std::string code_text;
  auto* join = app.add_subcommand("join", "join a circle with the join code a member gave you");
  join->add_option("CODE", code_text, "the join code (polder1-...)")->required();
  join->callback([&] { run = [&] { return CmdJoin(g, code_text); }; });

  NodeArgs na;
  auto* node = app.add_subcommand("node", "run your node in the foreground (Ctrl-C stops it)");
  node->add_option("--listen", na.listen, "host:port to accept sessions on (default 0.0.0.0:7714)");
  node->add_option("--peer", na.peers, "host:port of a node to dial (repeatable)");
  node->add_option("--advertise", na.advertise, "host:port others should dial (repeatable)");
  node->add_option("--log-level", na.log_level, "trace | debug | info | warn | error");
  node->callback([&] { run = [&] { return CmdNode(g, na); }; });

  ProposeArgs pa;
  auto* propose = app.add_subcommand("propose", "propose spending from the pool");
  propose->add_option("--title", pa.title, "short title")->required();
  propose->add_option("--amount", pa.amount, "amount requested, e.g. 1200 or 1200.50")->required();
  propose->add_option("--body", pa.body, "full description");
  propose->add_option("--purpose-fit", pa.purpose_fit, "how it serves the circle's purpose");
  propose->add_option("--voting-window", pa.deadline,
                      "voting window, e.g. 3d (default: the charter's)");
  propose->add_option("--topic", pa.topic, "topic, for topic delegations");
  propose->add_option("--deadline", pa.at,
                      "voting deadline (RFC 3339 or Unix ms); proposals sharing one form a round");
  propose->callback([&] { run = [&] { return CmdPropose(g, pa); }; });

  RuleChangeArgs ra;
  auto* rules_cmd = app.add_subcommand(
      "propose-rules", "propose changing the decision rules (adopted by a supermajority)");
  rules_cmd->add_option("--title", ra.title, "short title")->required();
  rules_cmd->add_option("--body", ra.body, "why");
  rules_cmd->add_option("--purpose-fit", ra.purpose_fit, "how it serves the circle's purpose");
  rules_cmd->add_option("--voting-window", ra.window, "voting window, e.g. 3d");
  rules_cmd->add_option("--deadline", ra.at, "voting deadline (RFC 3339 or Unix ms)");
  rules_cmd->add_option("--default-window", ra.rules.window, "default voting window, e.g. 7d");
  rules_cmd->add_option("--quorum", ra.rules.quorum, "share of members who must vote");
  rules_cmd->add_option("--quorum-by", ra.rules.quorum_by,
                        "members | weight: what the quorum share counts");
  rules_cmd->add_option("--approval", ra.rules.approval, "share of for/(for+against) needed");
  rules_cmd->add_option("--weighting", ra.rules.weighting, "member | org-balanced");
  rules_cmd->add_option("--allocation", ra.rules.allocation, "greedy | mes");
  rules_cmd->add_option("--blocking-severity", ra.rules.blocking, "lowest severity that blocks");
  rules_cmd->add_option("--max-share", ra.rules.max_share,
                        "largest share of the pool per proposal");
  rules_cmd->add_option("--max-org-share", ra.rules.max_org_share,
                        "largest share of the pool per organisation");
  rules_cmd->add_option("--mitigation-acceptances", ra.rules.acceptances,
                        "members who must accept a mitigation");
  rules_cmd->add_option("--override-share", ra.rules.override_share,
                        "weight share that overrides a flag");
  rules_cmd->add_option("--admission-quorum", ra.rules.admission,
                        "members who must admit a newcomer");
  rules_cmd->add_option("--seals-required", ra.rules.seals,
                        "seals that make a round final (0: a majority)");
  rules_cmd->add_option("--rule-change-share", ra.rules.rule_change_share,
                        "for/(for+against) a rule change needs");
  rules_cmd->callback([&] { run = [&] { return CmdProposeRules(g, ra); }; });

  auto* vote = app.add_subcommand("vote", "vote on a proposal: for, against or abstain");
  vote->add_option("PROPOSAL", prefix, "proposal id or unique prefix")->required();
  vote->add_option("CHOICE", choice, "for | against | abstain")->required();
  vote->callback([&] { run = [&] { return CmdVote(g, prefix, choice); }; });

  auto* flag = app.add_subcommand("flag", "flag a proposal as risky");
  flag->add_option("PROPOSAL", prefix, "proposal id or unique prefix")->required();
  flag->add_option("--severity", severity, "info | low | medium | high | critical")->required();
  flag->add_option("--category", category, "e.g. financial, legal, delivery")->required();
  flag->add_option("--rationale", rationale, "why it is risky")->required();
  flag->callback([&] { run = [&] { return CmdFlag(g, prefix, severity, category, rationale); }; });

  auto* resolve = app.add_subcommand(
      "resolve", "withdraw your flag, answer a flag on your proposal, or vote to override a flag");
  resolve->add_option("FLAG", prefix, "flag id or unique prefix")->required();
  resolve->add_flag("--withdraw", flag_a, "withdraw the flag (its author only)");
  resolve->add_option("--answer", text, "mitigation text (the proposer only)");
  bool override_vote = false;
  resolve->add_flag("--override", override_vote,
                    "vote to override the flag (ends it once a supermajority has)");
  resolve->callback(
      [&] { run = [&] { return CmdResolve(g, prefix, flag_a, text, override_vote); }; });

  auto* endorse = app.add_subcommand("endorse", "co-sponsor a proposal");
  endorse->add_option("PROPOSAL", prefix, "proposal id or unique prefix")->required();
  endorse->add_option("--note", note, "why you back it");
  endorse->callback([&] { run = [&] { return CmdEndorse(g, prefix, note); }; });

  std::string on;
  auto* comment = app.add_subcommand("comment", "comment on the circle or on an event");
  comment->add_option("TEXT", text, "the comment")->required();
  comment->add_option("--on", on, "id prefix of the proposal, flag or event");
  comment->callback([&] { run = [&] { return CmdComment(g, on, text); }; });

  auto* delegate = app.add_subcommand("delegate", "delegate your vote to a member (or --revoke)");
  delegate->add_option("MEMBER_ID", member_id, "the member to delegate to");
  delegate->add_option("--topic", topic, "only proposals of this topic");
  delegate->add_flag("--revoke", flag_a, "end your delegation (for --topic, or for all)");
  delegate->callback([&] { run = [&] { return CmdDelegate(g, member_id, topic, flag_a); }; });

  auto* withdraw = app.add_subcommand("withdraw", "withdraw your proposal");
  withdraw->add_option("PROPOSAL", prefix, "proposal id or unique prefix")->required();
  withdraw->add_option("--reason", text, "why");
  withdraw->callback([&] { run = [&] { return CmdWithdraw(g, prefix, text); }; });

  app.add_subcommand("list", "list proposals")->callback([&] { run = [&] { return CmdList(g); }; });
  app.add_subcommand("members", "list members")->callback([&] {
    run = [&] { return CmdMembers(g); };
  });

  auto* show = app.add_subcommand("show", "show a proposal with votes, flags and comments");
  show->add_option("PROPOSAL", prefix, "proposal id or unique prefix")->required();
  show->callback([&] { run = [&] { return CmdShow(g, prefix); }; });

  app.add_subcommand("status", "circle, members, digest, pending and forked counts")->callback([&] {
    run = [&] { return CmdStatus(g); };
  });

  auto* exp = app.add_subcommand("export", "write every event to a bundle file");
  exp->add_option("FILE", file, "bundle file to create")->required();
  exp->add_flag("--force", force, "overwrite FILE if it exists");
  exp->callback([&] { run = [&] { return CmdExport(g, file, force); }; });

  auto* imp = app.add_subcommand("import", "verify and ingest the events of a bundle file");
  imp->add_option("FILE", file, "bundle file")->required();
  imp->callback([&] { run = [&] { return CmdImport(g, file); }; });

  app.add_subcommand("rebuild", "recompute derived state from the events alone")->callback([&] {
    run = [&] { return CmdRebuild(g); };
  });
  app.add_subcommand("verify", "re-verify every stored event and the derived state")->callback([&] {
    run = [&] { return CmdVerify(g); };
  });

  TallyArgs ta;
  auto* tally = app.add_subcommand(
      "tally", "every proposal's outcome (status, reason, amounts) and the pool's totals");
  tally->add_option("--as-of", ta.as_of,
                    "tally at this time: RFC 3339 (2026-12-01T10:00:00Z) or Unix ms (default now)");
  tally->add_option("--explain", ta.explain,
                    "explain one proposal in plain words (id or unique prefix)");
  tally->callback([&] { run = [&] { return CmdTally(g, ta); }; });

  AuditArgs aa;
  auto* audit = app.add_subcommand(
      "audit", "everything needed to re-check one decision independently (use --json)");
  audit->add_option("PROPOSAL", aa.proposal, "proposal id or unique prefix")->required();
  audit->add_option("--as-of", aa.as_of, "audit at this time: RFC 3339 or Unix ms (default now)");
  audit->callback([&] { run = [&] { return CmdAudit(g, aa); }; });

  PbArgs pb;
  auto* pbc = app.add_subcommand(
      "pb", "run a participatory-budgeting method on a Pabulib .pb file; prints the funded ids");
  pbc->add_option("FILE", pb.file, "Pabulib file")->required();
  pbc->add_option("--rule", pb.rule, "greedy | mes")
      ->required()
      ->check(CLI::IsMember({"greedy", "mes"}));
  auto* utility = pbc->add_option("--utility", pb.utility, "mes: cost | approval (default cost)")
                      ->check(CLI::IsMember({"cost", "approval"}));
  auto* completion =
      pbc->add_option("--completion", pb.completion, "mes: none | add1 (default add1)")
          ->check(CLI::IsMember({"none", "add1"}));
  pbc->callback([&] {
    pb.mes_options_given = utility->count() > 0 || completion->count() > 0;
    run = [&] { return CmdPb(g, pb); };
  });

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
