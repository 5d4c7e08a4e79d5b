// The commands that author one event of this member: `polder propose`, `propose-rules`, `vote`,
// `flag`, `resolve`, `endorse`, `comment`, `delegate` and `withdraw`. Each opens the home to write
// (through the running node when there is one, app::Session) and prints the event's receipt.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "crypto/member_id.h"
#include "node/api/views.h"
#include "node/app/session.h"
#include "node/cli/amount.h"
#include "node/cli/as_of.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "node/cli/rule_options.h"
#include "node/cli/tally_cmd.h"
#include "node/decide/tally.h"
#include "proto/money.h"

namespace polder::cli {
namespace {

using app::Session;

struct ProposeArgs {
  std::string title, body, amount, purpose_fit, window, topic;
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
  const auto charter = Must(s.replica().state().Charter());
  const Money amount = Must(ParseMoney(p.amount, charter.decimals()));
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* pr = b.mutable_proposal();
    pr->set_title(p.title);
    pr->set_body(p.body);
    pr->set_amount_minor(amount.minor());
    pr->set_purpose_fit(p.purpose_fit);
    pr->set_deadline_ms(DeadlineOf(charter, p.window, p.at, b.timestamp_ms()));
    pr->set_topic(p.topic);
  }));
  PrintReceipt(g, s, a,
               "✓ Proposed \"" + p.title + "\" for " +
                   FormatMoney(amount, s.replica().views().CircleCurrency()) + " (id " +
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
  const auto charter = Must(s.replica().state().Charter());
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
  const EventId id = ResolveId(s, prefix, "proposal");
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
  const EventId id = ResolveId(s, prefix, "proposal");
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
  const EventId id = ResolveId(s, prefix, "flag");
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
  const EventId id = ResolveId(s, prefix, "proposal");
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
  if (!on.empty()) target = ResolveId(s, on, "");
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
    if (!s.replica().state().IsMember(*key)) Usage("that member is not admitted to this circle");
  }
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* d = b.mutable_delegation();
    if (key) d->set_delegate(key->str());
    d->set_topic(topic);
    d->set_revoke(revoke);
  }));
  const std::string scope = topic.empty() ? "all proposals" : "topic '" + topic + "'";
  PrintReceipt(g, s, a,
               revoke ? "✓ Revoked your delegation for " + scope
                      : "✓ Delegated your vote on " + scope + " to " +
                            api::MemberLabel(s.replica().views().NameOf(*key)));
  return kExitOk;
}

int CmdWithdraw(const Globals& g, const std::string& prefix, const std::string& reason) {
  Session s = OpenSession(g, true, true);
  const EventId id = ResolveId(s, prefix, "proposal");
  auto a = Must(s.Author([&](v1::EventBody& b) {
    b.mutable_withdraw()->set_proposal(id.str());
    b.mutable_withdraw()->set_reason(reason);
  }));
  PrintReceipt(g, s, a, "✓ Withdrew proposal " + Short(id.hex()));
  return kExitOk;
}

}  // namespace

void RegisterWriteCommands(CLI::App& app, const Globals& g, Runner& run) {
  // Each subcommand's arguments are kept alive by its callback, which the app holds.
  auto pa = std::make_shared<ProposeArgs>();
  auto* propose = app.add_subcommand("propose", "propose spending from the pool");
  propose->add_option("--title", pa->title, "short title")->required();
  propose->add_option("--amount", pa->amount, "amount requested, e.g. 1200 or 1200.50")->required();
  propose->add_option("--body", pa->body, "full description");
  propose->add_option("--purpose-fit", pa->purpose_fit, "how it serves the circle's purpose");
  propose->add_option("--voting-window", pa->window,
                      "voting window, e.g. 3d (default: the charter's)");
  propose->add_option("--topic", pa->topic, "topic, for topic delegations");
  propose->add_option("--deadline", pa->at,
                      "voting deadline (RFC 3339 or Unix ms); proposals sharing one form a round");
  propose->callback([&g, &run, pa] { run = [&g, pa] { return CmdPropose(g, *pa); }; });

  auto ra = std::make_shared<RuleChangeArgs>();
  auto* rules_cmd = app.add_subcommand(
      "propose-rules", "propose changing the decision rules (adopted by a supermajority)");
  rules_cmd->add_option("--title", ra->title, "short title")->required();
  rules_cmd->add_option("--body", ra->body, "why");
  rules_cmd->add_option("--purpose-fit", ra->purpose_fit, "how it serves the circle's purpose");
  rules_cmd->add_option("--voting-window", ra->window, "voting window, e.g. 3d");
  rules_cmd->add_option("--deadline", ra->at, "voting deadline (RFC 3339 or Unix ms)");
  rules_cmd->add_option("--default-window", ra->rules.window, "default voting window, e.g. 7d");
  rules_cmd->add_option("--quorum", ra->rules.quorum, "share of members who must vote");
  rules_cmd->add_option("--quorum-by", ra->rules.quorum_by,
                        "members | weight: what the quorum share counts");
  rules_cmd->add_option("--approval", ra->rules.approval, "share of for/(for+against) needed");
  rules_cmd->add_option("--weighting", ra->rules.weighting, "member | org-balanced");
  rules_cmd->add_option("--allocation", ra->rules.allocation, "greedy | mes");
  rules_cmd->add_option("--blocking-severity", ra->rules.blocking, "lowest severity that blocks");
  rules_cmd->add_option("--max-share", ra->rules.max_share,
                        "largest share of the pool per proposal");
  rules_cmd->add_option("--max-org-share", ra->rules.max_org_share,
                        "largest share of the pool per organisation");
  rules_cmd->add_option("--mitigation-acceptances", ra->rules.acceptances,
                        "members who must accept a mitigation");
  rules_cmd->add_option("--override-share", ra->rules.override_share,
                        "weight share that overrides a flag");
  rules_cmd->add_option("--admission-quorum", ra->rules.admission,
                        "members who must admit a newcomer");
  rules_cmd->add_option("--admission-orgs", ra->rules.admission_orgs,
                        "organisations whose members must admit a newcomer");
  rules_cmd
      ->add_option("--add-organisations", ra->rules.organisations,
                   "organisations to add to the circle's, comma-separated")
      ->delimiter(',');
  rules_cmd->add_option("--seals-required", ra->rules.seals,
                        "seals that make a round final (0: a majority)");
  rules_cmd->add_option("--rule-change-share", ra->rules.rule_change_share,
                        "for/(for+against) a rule change needs");
  rules_cmd->add_option("--removal-share", ra->rules.removal_share,
                        "share of the other members whose removals remove a member");
  rules_cmd->add_option("--late-flag-window", ra->rules.late_flag_window,
                        "how close to a deadline a blocking flag moves the decision, and by how "
                        "much");
  rules_cmd->callback([&g, &run, ra] { run = [&g, ra] { return CmdProposeRules(g, *ra); }; });

  struct VoteArgs {
    std::string proposal, choice;
  };
  auto va = std::make_shared<VoteArgs>();
  auto* vote = app.add_subcommand("vote", "vote on a proposal: for, against or abstain");
  vote->add_option("PROPOSAL", va->proposal, "proposal id or unique prefix")->required();
  vote->add_option("CHOICE", va->choice, "for | against | abstain")->required();
  vote->callback(
      [&g, &run, va] { run = [&g, va] { return CmdVote(g, va->proposal, va->choice); }; });

  struct FlagArgs {
    std::string proposal, severity, category, rationale;
  };
  auto fa = std::make_shared<FlagArgs>();
  auto* flag = app.add_subcommand("flag", "flag a proposal as risky");
  flag->add_option("PROPOSAL", fa->proposal, "proposal id or unique prefix")->required();
  flag->add_option("--severity", fa->severity, "info | low | medium | high | critical")->required();
  flag->add_option("--category", fa->category, "e.g. financial, legal, delivery")->required();
  flag->add_option("--rationale", fa->rationale, "why it is risky")->required();
  flag->callback([&g, &run, fa] {
    run = [&g, fa] { return CmdFlag(g, fa->proposal, fa->severity, fa->category, fa->rationale); };
  });

  struct ResolveArgs {
    std::string flag, answer;
    bool withdraw = false, override_vote = false;
  };
  auto rs = std::make_shared<ResolveArgs>();
  auto* resolve = app.add_subcommand(
      "resolve", "withdraw your flag, answer a flag on your proposal, or vote to override a flag");
  resolve->add_option("FLAG", rs->flag, "flag id or unique prefix")->required();
  resolve->add_flag("--withdraw", rs->withdraw, "withdraw the flag (its author only)");
  resolve->add_option("--answer", rs->answer, "mitigation text (the proposer only)");
  resolve->add_flag("--override", rs->override_vote,
                    "vote to override the flag (ends it once a supermajority has)");
  resolve->callback([&g, &run, rs] {
    run = [&g, rs] { return CmdResolve(g, rs->flag, rs->withdraw, rs->answer, rs->override_vote); };
  });

  struct EndorseArgs {
    std::string proposal, note;
  };
  auto ea = std::make_shared<EndorseArgs>();
  auto* endorse = app.add_subcommand("endorse", "co-sponsor a proposal");
  endorse->add_option("PROPOSAL", ea->proposal, "proposal id or unique prefix")->required();
  endorse->add_option("--note", ea->note, "why you back it");
  endorse->callback(
      [&g, &run, ea] { run = [&g, ea] { return CmdEndorse(g, ea->proposal, ea->note); }; });

  struct CommentArgs {
    std::string text, on;
  };
  auto ca = std::make_shared<CommentArgs>();
  auto* comment = app.add_subcommand("comment", "comment on the circle or on an event");
  comment->add_option("TEXT", ca->text, "the comment")->required();
  comment->add_option("--on", ca->on, "id prefix of the proposal, flag or event");
  comment->callback([&g, &run, ca] { run = [&g, ca] { return CmdComment(g, ca->on, ca->text); }; });

  struct DelegateArgs {
    std::string member_id, topic;
    bool revoke = false;
  };
  auto da = std::make_shared<DelegateArgs>();
  auto* delegate = app.add_subcommand("delegate", "delegate your vote to a member (or --revoke)");
  delegate->add_option("MEMBER_ID", da->member_id, "the member to delegate to");
  delegate->add_option("--topic", da->topic, "only proposals of this topic");
  delegate->add_flag("--revoke", da->revoke, "end your delegation (for --topic, or for all)");
  delegate->callback([&g, &run, da] {
    run = [&g, da] { return CmdDelegate(g, da->member_id, da->topic, da->revoke); };
  });

  struct WithdrawArgs {
    std::string proposal, reason;
  };
  auto wa = std::make_shared<WithdrawArgs>();
  auto* withdraw = app.add_subcommand("withdraw", "withdraw your proposal");
  withdraw->add_option("PROPOSAL", wa->proposal, "proposal id or unique prefix")->required();
  withdraw->add_option("--reason", wa->reason, "why");
  withdraw->callback(
      [&g, &run, wa] { run = [&g, wa] { return CmdWithdraw(g, wa->proposal, wa->reason); }; });
}

}  // namespace polder::cli
