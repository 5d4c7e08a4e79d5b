// The tally in plain words (tally.h): the words for statuses, reasons and notes, and
// ExplainText() / AlertText(), the explanations a member reads. Names come from the state; times
// are RFC 3339 (UTC), the same on every node.
#include <string>

#include "node/decide/tally.h"
#include "proto/time_text.h"
#include "proto/words.h"

namespace polder::decide {

const char* ToString(Status s) {
  switch (s) {
    case Status::kOpen: return "open";
    case Status::kWithdrawn: return "withdrawn";
    case Status::kFunded: return "funded";
    case Status::kNotFunded: return "not funded";
    case Status::kAdopted: return "adopted";
    case Status::kNotAdopted: return "not adopted";
  }
  return "unknown";
}

const char* ToString(Finality f) {
  switch (f) {
    case Finality::kOpen: return "open";
    case Finality::kProvisional: return "provisional";
    case Finality::kFinal: return "final";
  }
  return "unknown";
}

const char* ToString(Reason r) {
  switch (r) {
    case Reason::kNone: return "";
    case Reason::kQuorumNotMet: return "quorum not met";
    case Reason::kNotApproved: return "not approved";
    case Reason::kBlockedByFlag: return "blocked by an open risk flag";
    case Reason::kOverProposalCap: return "above the per-proposal share of the pool";
    case Reason::kOrgCapReached: return "would exceed its organisation's share of the pool";
    case Reason::kBudgetExhausted: return "did not fit what was left of the pool";
    case Reason::kNotSelected: return "not selected by the Method of Equal Shares";
    case Reason::kNotSealed: return "published after its round was sealed";
  }
  return "unknown";
}

const char* ToString(Exclusion e) {
  switch (e) {
    case Exclusion::kLate: return "after the deadline";
    case Exclusion::kForkedAuthor: return "voter forked (equivocated)";
    case Exclusion::kNotMember: return "not a member at the deadline";
    case Exclusion::kNotApplied: return "not applied (gap in the voter's log, or void)";
    case Exclusion::kNotSealed: return "published after the round was sealed";
  }
  return "unknown";
}

const char* ToString(DelegationEnd e) {
  switch (e) {
    case DelegationEnd::kUsed: return "used";
    case DelegationEnd::kOverriddenByOwnVote: return "not used: the delegator voted";
    case DelegationEnd::kCycle: return "cycle: no vote";
    case DelegationEnd::kEndsAtNonVoter: return "ends at a member who did not vote: no vote";
    case DelegationEnd::kEndsAtForked: return "ends at a forked member: no vote";
    case DelegationEnd::kDelegatorForked: return "delegator forked: no vote";
  }
  return "unknown";
}

const char* ToString(FlagState s) {
  switch (s) {
    case FlagState::kOpen: return "open";
    case FlagState::kWithdrawn: return "withdrawn";
    case FlagState::kMitigated: return "mitigated";
    case FlagState::kOverridden: return "overridden";
    case FlagState::kFlaggerNotEligible:
      return "does not count (its flagger was not an eligible member at the cut-off)";
    case FlagState::kFlaggerForked: return "does not count (its flagger forked)";
  }
  return "unknown";
}

namespace {

std::string Label(const CircleState& st, const MemberKey& k) {
  const Member* m = st.FindMember(k);
  const std::string short_id = k.hex().substr(0, 8);
  return m ? m->name + " (" + short_id + ")" : "(" + short_id + ")";
}

std::string Percent(std::uint32_t bps) {
  std::string frac = std::to_string(bps % 100);
  if (frac.size() < 2) frac = "0" + frac;
  return std::to_string(bps / 100) + "." + frac + " %";
}

std::string RulesText(const Rules& r) {
  return std::string("quorum ") + Percent(r.quorum_bps) + (r.quorum_by_weight ? " of weight" : "") +
         ", approval " + Percent(r.approval_bps) + ", " +
         (r.weighting == v1::DecisionRules::ORGANISATION_BALANCED ? "organisation-balanced"
                                                                  : "one member one vote") +
         ", " + (r.allocation == v1::DecisionRules::EQUAL_SHARES ? "equal shares" : "greedy") +
         ", per-proposal cap " + Percent(r.max_share_per_proposal_bps) + ", per-organisation cap " +
         Percent(r.max_share_per_org_bps) + ", blocking from " + SeverityWord(r.blocking_severity) +
         ", " + std::to_string(r.mitigation_acceptances) + " acceptances, override " +
         Percent(r.override_bps) + ", admission by " + std::to_string(r.admission_quorum) +
         ", seals " + (r.seals_required ? std::to_string(r.seals_required) : "majority") +
         ", rule change " + Percent(r.rule_change_bps) + ", removal " + Percent(r.removal_bps) +
         ", late-flag window " +
         (r.late_flag_window_ms % 3'600'000 == 0
              ? std::to_string(r.late_flag_window_ms / 3'600'000) + " h"
              : std::to_string(r.late_flag_window_ms / 60'000) + " min");
}

}  // namespace

std::string ExplainText(const CircleState& st, const ProposalOutcome& o) {
  const auto& e = o.explanation;
  const Currency money = st.currency();
  std::string s = "Proposal \"" + o.title + "\" (" + o.proposal.hex().substr(0, 12) + ") by " +
                  Label(st, o.author) + ", " + o.organisation + ", asks " +
                  FormatMoney(o.amount_minor, money) +
                  (o.topic.empty() ? "" : ", topic " + o.topic) + ".\n";
  if (o.rule_change) {
    const ProposalRecord* p = st.FindProposal(o.proposal);
    s += "  A rule change (" + RulesText(*p->rule_change) + ").\n";
  }
  s += "  Outcome: " + std::string(ToString(o.status));
  if (o.reason != Reason::kNone) s += ": " + std::string(ToString(o.reason));
  s += " (" + std::string(ToString(o.finality)) + ").";
  if (e.closed) {
    s += " Seals: " + std::to_string(e.seals->counting.size()) + " of " +
         std::to_string(e.seals->counting.size() + e.seals->missing.size()) +
         " members sealed (an event counts when " + std::to_string(e.seals->required) +
         " seals cover it)";
    if (!e.seals->undecided.empty()) {
      s += "; seals still to come decide what counts of " +
           std::to_string(e.seals->undecided.size()) + " author(s)";
    }
    s += e.seals->sealed ? "; decided on what the seals cover" : "; decided on every event held";
    if (e.earlier_round_provisional) s += "; an earlier round is not final yet";
    s += ".";
  }
  s += "\n  Deadline " + FormatRfc3339(e.deadline_ms) + "; votes counted up to " +
       FormatRfc3339(e.cutoff_ms) + ".\n";
  if (e.moved_from_ms != 0) {
    s += "  Moved from its deadline " + FormatRfc3339(e.moved_from_ms) + ": flag " +
         e.late_flag.hex().substr(0, 12) +
         " was raised within the late-flag window before it and blocked it there; votes, answers,"
         " acceptances and overrides count up to the new deadline; flags raised after its own"
         " deadline do not.\n";
  }
  s += "  Quorum: " + std::to_string(e.participants) + " of " + std::to_string(e.eligible_members) +
       " members voted";
  if (e.quorum_by_weight) {
    s +=
        " (weight " + e.participant_weight.ToString() + " of " + e.eligible_weight.ToString() + ")";
  }
  s += "; " + Percent(e.quorum_bps) + (e.quorum_by_weight ? " of the weight" : "") +
       " needed: " + (e.quorum_met ? "met" : "not met") + ".\n";
  s += std::string("  Approval") + (o.rule_change ? " (rule change)" : "") + ": for " +
       e.for_weight.ToString() + ", against " + e.against_weight.ToString() + " (weights; " +
       std::to_string(e.for_count) + " for, " + std::to_string(e.against_count) + " against, " +
       std::to_string(e.abstain_count) + " abstain); " +
       (o.rule_change ? "at least " : "more than ") + Percent(e.approval_bps) +
       " needed: " + (e.approved ? "approved" : "not approved") + ".\n";
  for (const auto& of : e.organisations) {
    s += "    " + of.organisation + ": " + std::to_string(of.voted) + " of " +
         std::to_string(of.members) + " voted; for " + std::to_string(of.for_count) + " (weight " +
         of.for_weight.ToString() + "), against " + std::to_string(of.against_count) + " (weight " +
         of.against_weight.ToString() + "), abstain " + std::to_string(of.abstain_count) + ".\n";
  }
  for (const auto& v : e.votes) {
    s += "    " + Label(st, v.member) + ": " + ChoiceWord(v.choice) + ", weight " +
         v.weight.ToString();
    if (!v.via.empty()) {
      s += ", through";
      for (const auto& k : v.via) s += " " + Label(st, k);
    }
    s += ".\n";
  }
  for (const auto& d : e.delegations) {
    s += "  Delegation of " + Label(st, d.delegator) + (d.topic ? " (topic)" : "");
    for (const auto& k : d.chain) s += " -> " + Label(st, k);
    s += ": " + std::string(ToString(d.end)) + ".\n";
  }
  for (const auto& x : e.excluded) {
    s += "  Not counted: vote " + x.event.hex().substr(0, 12) + " by " + Label(st, x.voter) + ": " +
         ToString(x.reason) + ".\n";
  }
  for (const auto& f : e.flags) {
    s += "  Risk flag " + f.flag.hex().substr(0, 12) + " by " + Label(st, f.flagger) + ", " +
         SeverityWord(f.severity) + (f.blocking_severity ? " (blocking)" : " (not blocking)") +
         ": " + ToString(f.state);
    if (f.answered) {
      s += "; answered, accepted by " + std::to_string(f.acceptances.size()) + " of " +
           std::to_string(st.rules.mitigation_acceptances) + " needed";
    }
    if (!f.overrides.empty()) {
      s += "; override votes weigh " + f.override_weight.ToString() + " of " +
           f.total_weight.ToString();
    }
    s += ".\n";
  }
  if (e.allocation.considered) {
    s += "  Allocation: considered with " + FormatMoney(e.allocation.pool_left_before, money) +
         " of the pool left; its organisation had " +
         FormatMoney(e.allocation.org_spent_before, money) + " (cap " +
         FormatMoney(e.allocation.org_cap, money) + "); per-proposal cap " +
         FormatMoney(e.allocation.proposal_cap, money) + ".\n";
  }
  return s;
}

std::string AlertText(const CircleState& st, const IntegrityAlert& a) {
  std::string s = "INTEGRITY ALERT: the round with deadline " + FormatRfc3339(a.deadline_ms) +
                  " was sealed, but " + std::to_string(a.events.size()) +
                  " event(s) timestamped before its deadline were published after it and would "
                  "change the outcome of";
  for (const auto& p : a.proposals) {
    const ProposalRecord* rec = st.FindProposal(p);
    s += " \"" + (rec ? rec->title : std::string()) + "\" (" + p.hex().substr(0, 12) + ")";
  }
  s += ". They are not counted. Events:";
  for (const auto& e : a.events) s += " " + e.hex().substr(0, 12);
  return s + ".\n";
}

std::string ExplainText(const CircleState& st, const TallyResult& r) {
  const Currency money = st.currency();
  std::string s = "Tally at " + FormatRfc3339(r.as_of_ms) + ": " +
                  FormatMoney(r.allocated_minor, money) + " of " +
                  FormatMoney(r.pool_minor, money) + " allocated.\n";
  if (!r.allocation_error.empty()) s += "Allocation failed: " + r.allocation_error + ".\n";
  for (const auto& a : r.alerts) s += AlertText(st, a);
  for (const auto& o : r.proposals) s += ExplainText(st, o);
  return s;
}

}  // namespace polder::decide
