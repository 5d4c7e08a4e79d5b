#include "node/decide/audit.h"

#include <algorithm>
#include <map>

#include <gmpxx.h>

#include "node/decide/limits.h"
#include "node/decide/rational.h"
#include "proto/words.h"

namespace polder::decide {
namespace {

std::string Name(const CircleState& st, const MemberKey& k) {
  const Member* m = st.FindMember(k);
  return m ? m->name : std::string();
}

std::string FractionText(const mpq_class& q) {
  return q.get_den() == 1 ? q.get_num().get_str() : q.get_str();
}

const VoteRecord* VoteById(const ProposalRecord& p, const EventId& id) {
  for (const auto& v : p.votes) {
    if (v.event == id) return &v;
  }
  return nullptr;
}

const DelegationRecord* DelegationById(const CircleState& st, const EventId& id) {
  for (const auto& d : st.delegations) {
    if (d.event == id) return &d;
  }
  return nullptr;
}

const RoundSummary* RoundOf(const TallyResult& r, std::int64_t deadline) {
  for (const auto& round : r.rounds) {
    if (round.deadline_ms == deadline) return &round;
  }
  return nullptr;
}

void FillSeals(const SealNote& n, v1::SealNoteView* v) {
  v->set_required(n.required);
  for (const auto& k : n.counting) v->add_counting(k.hex());
  for (const auto& k : n.missing) v->add_missing(k.hex());
  for (const auto& k : n.undecided) v->add_undecided(k.hex());
  for (const auto& k : n.forked) v->add_forked(k.hex());
  v->set_sealed(n.sealed);
  v->set_committee_required(n.committee_required);
}

void FillRules(const CircleState& st, const Rules& rules, v1::RulesView* rv) {
  rv->set_voting_window_ms(rules.voting_window_ms);
  rv->set_quorum_bps(rules.quorum_bps);
  rv->set_approval_bps(rules.approval_bps);
  rv->set_weighting(WeightingWord(rules.weighting));
  rv->set_allocation(AllocationWord(rules.allocation));
  rv->set_max_share_per_proposal_bps(rules.max_share_per_proposal_bps);
  rv->set_max_share_per_org_bps(rules.max_share_per_org_bps);
  rv->set_blocking_severity(SeverityWord(rules.blocking_severity));
  rv->set_mitigation_acceptances(rules.mitigation_acceptances);
  rv->set_override_bps(rules.override_bps);
  rv->set_admission_quorum(rules.admission_quorum);
  rv->set_admission_organisations(rules.admission_organisations);
  for (const auto& org : rules.organisations) rv->add_organisations(org);
  rv->set_seals_required(rules.seals_required);
  rv->set_rule_change_bps(rules.rule_change_bps);
  rv->set_quorum_by_weight(rules.quorum_by_weight);
  rv->set_removal_bps(rules.removal_bps);
  rv->set_late_flag_window_ms(rules.late_flag_window_ms);
  rv->set_pool_minor(st.pool_minor.minor());
  rv->set_unit(st.unit);
  rv->set_decimals(st.decimals);
  rv->set_charter_event(st.has_charter ? st.charter_event.hex() : "");
}

v1::RoundView RoundViewOf(const CircleState& st, const RoundSummary& r) {
  v1::RoundView v;
  v.set_deadline_ms(r.deadline_ms);
  v.set_finality(FinalityWord(r.finality));
  v.set_pool_left_before_minor(r.pool_left_before.minor());
  v.set_allocated_minor(r.allocated_minor.minor());
  FillSeals(r.seals, v.mutable_seals());
  for (const auto& p : r.proposals) v.add_proposals(p.hex());
  FillRules(st, r.rules, v.mutable_rules());
  for (const auto& k : r.committee) v.add_committee(k.hex());
  return v;
}

v1::IntegrityAlertView AlertViewOf(const CircleState& st, const IntegrityAlert& a) {
  v1::IntegrityAlertView v;
  v.set_deadline_ms(a.deadline_ms);
  for (const auto& e : a.events) v.add_events(e.hex());
  for (const auto& p : a.proposals) v.add_proposals(p.hex());
  v.set_text(AlertText(st, a));
  return v;
}

void AddCheck(v1::AuditView* a, std::string rule, std::string left, std::string right, bool holds) {
  auto* c = a->add_checks();
  c->set_rule(std::move(rule));
  c->set_left(std::move(left));
  c->set_right(std::move(right));
  c->set_holds(holds);
}

}  // namespace

const char* StatusWord(const ProposalOutcome& o) {
  switch (o.status) {
    case Status::kOpen: return "open";
    case Status::kWithdrawn: return "withdrawn";
    case Status::kFunded: return "funded";
    case Status::kNotFunded: return "not_funded";
    case Status::kAdopted: return "adopted";
    case Status::kNotAdopted: return "not_adopted";
  }
  return "unknown";
}

const char* FinalityWord(Finality f) { return ToString(f); }  // one word each already

const char* ReasonWord(Reason r) {
  switch (r) {
    case Reason::kNone: return "";
    case Reason::kQuorumNotMet: return "quorum_not_met";
    case Reason::kNotApproved: return "not_approved";
    case Reason::kBlockedByFlag: return "blocked_by_flag";
    case Reason::kOverProposalCap: return "over_proposal_cap";
    case Reason::kOrgCapReached: return "org_cap_reached";
    case Reason::kBudgetExhausted: return "budget_exhausted";
    case Reason::kNotSelected: return "not_selected";
    case Reason::kNotSealed: return "not_sealed";
  }
  return "unknown";
}

const char* ExclusionWord(Exclusion e) {
  switch (e) {
    case Exclusion::kLate: return "late";
    case Exclusion::kForkedAuthor: return "forked_author";
    case Exclusion::kNotMember: return "not_member";
    case Exclusion::kNotApplied: return "not_applied";
    case Exclusion::kNotSealed: return "not_sealed";
  }
  return "unknown";
}

const char* DelegationEndWord(DelegationEnd e) {
  switch (e) {
    case DelegationEnd::kUsed: return "used";
    case DelegationEnd::kOverriddenByOwnVote: return "overridden_by_own_vote";
    case DelegationEnd::kCycle: return "cycle";
    case DelegationEnd::kEndsAtNonVoter: return "ends_at_non_voter";
    case DelegationEnd::kEndsAtForked: return "ends_at_forked";
    case DelegationEnd::kDelegatorForked: return "delegator_forked";
  }
  return "unknown";
}

const char* FlagStateWord(FlagState s) {
  switch (s) {
    case FlagState::kFlaggerNotEligible: return "flagger_not_eligible";
    case FlagState::kFlaggerForked: return "flagger_forked";
    default: return ToString(s);  // one word each already
  }
}

const char* WeightingWord(v1::DecisionRules::Weighting w) {
  switch (w) {
    case v1::DecisionRules::ONE_MEMBER_ONE_VOTE: return "one_member_one_vote";
    case v1::DecisionRules::ORGANISATION_BALANCED: return "organisation_balanced";
    default: return "unknown";  // proto enums carry sentinel values; Fold fills the default
  }
}

const char* AllocationWord(v1::DecisionRules::Allocation a) {
  switch (a) {
    case v1::DecisionRules::GREEDY_APPROVAL: return "greedy_approval";
    case v1::DecisionRules::EQUAL_SHARES: return "equal_shares";
    default: return "unknown";
  }
}

v1::ProposalOutcomeView OutcomeView(const CircleState& st, const ProposalOutcome& o) {
  const auto& e = o.explanation;
  v1::ProposalOutcomeView v;
  v.set_proposal_id(o.proposal.hex());
  v.set_title(o.title);
  v.set_author(o.author.hex());
  v.set_author_name(Name(st, o.author));
  v.set_organisation(o.organisation);
  v.set_topic(o.topic);
  v.set_amount_minor(o.amount_minor.minor());
  v.set_amount(FormatMoney(o.amount_minor, st.currency()));
  v.set_status(StatusWord(o));
  v.set_reason(ReasonWord(o.reason));
  v.set_reason_text(o.reason == Reason::kNone ? "" : ToString(o.reason));
  v.set_closed(e.closed);
  v.set_deadline_ms(e.deadline_ms);
  v.set_eligible_members(e.eligible_members);
  v.set_participants(e.participants);
  v.set_for_count(e.for_count);
  v.set_against_count(e.against_count);
  v.set_abstain_count(e.abstain_count);
  v.set_for_weight(e.for_weight.ToString());
  v.set_against_weight(e.against_weight.ToString());
  v.set_quorum_met(e.quorum_met);
  v.set_approved(e.approved);
  v.set_blocked(e.blocked);
  v.set_finality(FinalityWord(o.finality));
  v.set_rule_change(o.rule_change);
  v.set_moved_from_ms(e.moved_from_ms);
  return v;
}

v1::ExplanationView ExplanationViewOf(const CircleState& st, const ProposalOutcome& o) {
  const auto& e = o.explanation;
  v1::ExplanationView v;
  v.set_deadline_ms(e.deadline_ms);
  v.set_cutoff_ms(e.cutoff_ms);
  v.set_closed(e.closed);
  v.set_eligible_members(e.eligible_members);
  v.set_participants(e.participants);
  v.set_quorum_bps(e.quorum_bps);
  v.set_quorum_met(e.quorum_met);
  v.set_for_count(e.for_count);
  v.set_against_count(e.against_count);
  v.set_abstain_count(e.abstain_count);
  v.set_for_weight(e.for_weight.ToString());
  v.set_against_weight(e.against_weight.ToString());
  v.set_approval_bps(e.approval_bps);
  v.set_approved(e.approved);
  for (const auto& of : e.organisations) {
    auto* x = v.add_organisations();
    x->set_organisation(of.organisation);
    x->set_members(of.members);
    x->set_voted(of.voted);
    x->set_for_count(of.for_count);
    x->set_against_count(of.against_count);
    x->set_abstain_count(of.abstain_count);
    x->set_for_weight(of.for_weight.ToString());
    x->set_against_weight(of.against_weight.ToString());
  }
  for (const auto& cv : e.votes) {
    auto* x = v.add_votes();
    x->set_member(cv.member.hex());
    x->set_name(Name(st, cv.member));
    x->set_organisation(cv.organisation);
    x->set_choice(ChoiceWord(cv.choice));
    x->set_weight(cv.weight.ToString());
    for (const auto& k : cv.via) {
      x->add_via(k.hex());
      x->add_via_names(Name(st, k));
    }
  }
  for (const auto& d : e.delegations) {
    auto* x = v.add_delegations();
    x->set_delegator(d.delegator.hex());
    x->set_delegator_name(Name(st, d.delegator));
    x->set_topic(d.topic);
    for (const auto& k : d.chain) {
      x->add_chain(k.hex());
      x->add_chain_names(Name(st, k));
    }
    x->set_end(DelegationEndWord(d.end));
    x->set_end_text(ToString(d.end));
  }
  for (const auto& ex : e.excluded) {
    auto* x = v.add_excluded();
    x->set_voter(ex.voter.hex());
    x->set_name(Name(st, ex.voter));
    x->set_event_id(ex.event.hex());
    x->set_reason(ExclusionWord(ex.reason));
    x->set_reason_text(ToString(ex.reason));
  }
  for (const auto& f : e.flags) {
    auto* x = v.add_flags();
    x->set_flag_id(f.flag.hex());
    x->set_flagger(f.flagger.hex());
    x->set_flagger_name(Name(st, f.flagger));
    x->set_severity(SeverityWord(f.severity));
    x->set_blocking_severity(f.blocking_severity);
    x->set_state(FlagStateWord(f.state));
    x->set_answered(f.answered);
    for (const auto& k : f.acceptances) x->add_acceptances(k.hex());
    for (const auto& k : f.overrides) x->add_overrides(k.hex());
    x->set_override_weight(f.override_weight.ToString());
    x->set_total_weight(f.total_weight.ToString());
  }
  v.set_blocked(e.blocked);
  const auto& al = e.allocation;
  auto* a = v.mutable_allocation();
  a->set_considered(al.considered);
  a->set_pool_left_before_minor(al.pool_left_before.minor());
  a->set_pool_left_before(FormatMoney(al.pool_left_before, st.currency()));
  a->set_org_spent_before_minor(al.org_spent_before.minor());
  a->set_org_spent_before(FormatMoney(al.org_spent_before, st.currency()));
  a->set_proposal_cap_minor(al.proposal_cap.minor());
  a->set_proposal_cap(FormatMoney(al.proposal_cap, st.currency()));
  a->set_org_cap_minor(al.org_cap.minor());
  a->set_org_cap(FormatMoney(al.org_cap, st.currency()));
  v.set_text(ExplainText(st, o));
  FillSeals(*e.seals, v.mutable_seals());
  v.set_earlier_round_provisional(e.earlier_round_provisional);
  v.set_moved_from_ms(e.moved_from_ms);
  v.set_late_flag(e.moved_from_ms != 0 ? e.late_flag.hex() : "");
  v.set_quorum_by_weight(e.quorum_by_weight);
  v.set_participant_weight(e.participant_weight.ToString());
  v.set_eligible_weight(e.eligible_weight.ToString());
  return v;
}

v1::TallyView TallyViewOf(const CircleState& st, const TallyResult& r, const Provenance& prov) {
  v1::TallyView v;
  v.set_circle_id(st.has_charter ? st.circle.hex() : "");
  v.set_circle_name(st.name);
  v.set_as_of_ms(r.as_of_ms);
  v.set_as_of(prov.as_of);
  v.set_unit(st.unit);
  v.set_decimals(st.decimals);
  v.set_pool_minor(r.pool_minor.minor());
  v.set_pool(FormatMoney(r.pool_minor, st.currency()));
  v.set_allocated_minor(r.allocated_minor.minor());
  v.set_allocated(FormatMoney(r.allocated_minor, st.currency()));
  v.set_left_minor((r.pool_minor - r.allocated_minor).minor());
  v.set_left(FormatMoney(r.pool_minor - r.allocated_minor, st.currency()));
  v.set_allocation_method(AllocationWord(st.rules.allocation));
  v.set_allocation_error(r.allocation_error);
  for (const auto& o : r.proposals) *v.add_proposals() = OutcomeView(st, o);
  v.set_state_digest(prov.state_digest);
  v.set_vector_digest(prov.vector_digest);
  for (const auto& round : r.rounds) *v.add_rounds() = RoundViewOf(st, round);
  for (const auto& a : r.alerts) *v.add_alerts() = AlertViewOf(st, a);
  return v;
}

const ProposalOutcome* FindOutcome(const TallyResult& r, const EventId& proposal) {
  auto it =
      std::lower_bound(r.proposals.begin(), r.proposals.end(), proposal,
                       [](const ProposalOutcome& o, const EventId& id) { return o.proposal < id; });
  return it != r.proposals.end() && it->proposal == proposal ? &*it : nullptr;
}

Result<v1::AuditView> Audit(const CircleState& st, const TallyResult& r, const EventId& proposal,
                            const Provenance& prov) {
  const ProposalOutcome* o = FindOutcome(r, proposal);
  const ProposalRecord* p = st.FindProposal(proposal);
  if (!o || !p) return Fail(Errc::kNotFound, "no proposal " + proposal.hex() + " in the tally");
  const auto& e = o->explanation;
  const RoundSummary* round_summary = RoundOf(r, e.deadline_ms);  // moved by a late flag or not
  const Rules& rules = round_summary ? round_summary->rules : st.rules;

  v1::AuditView a;
  a.set_format(kAuditFormat);
  a.set_circle_id(st.has_charter ? st.circle.hex() : "");
  a.set_circle_name(st.name);
  a.set_as_of_ms(r.as_of_ms);
  a.set_as_of(prov.as_of);
  a.set_state_digest(prov.state_digest);
  a.set_vector_digest(prov.vector_digest);
  a.set_events_read(prov.events_read);

  FillRules(st, rules, a.mutable_rules());

  *a.mutable_proposal() = OutcomeView(st, *o);
  *a.mutable_proposal()->mutable_explanation() = ExplanationViewOf(st, *o);

  for (const auto& m : st.members) {
    auto* x = a.add_members();
    x->set_member(m.key.hex());
    x->set_name(m.name);
    x->set_organisation(m.organisation);
    x->set_admitted_ms(m.admitted_ms);
    x->set_eligible(round_summary && std::binary_search(round_summary->eligible.begin(),
                                                        round_summary->eligible.end(), m.key));
    x->set_forked(m.forked());
    if (m.fork_seq) x->set_fork_seq(*m.fork_seq);
  }

  for (const auto& cv : e.votes) {
    auto* x = a.add_counted_votes();
    x->set_member(cv.member.hex());
    x->set_name(Name(st, cv.member));
    x->set_organisation(cv.organisation);
    x->set_choice(ChoiceWord(cv.choice));
    x->set_weight(cv.weight.ToString());
    MemberKey from = cv.member;
    for (std::size_t h = 0; h < cv.via.size(); ++h) {
      const MemberKey& to = cv.via[h];
      auto* hop = x->add_chain();
      hop->set_delegator(from.hex());
      hop->set_delegate(to.hex());
      if (h < cv.delegation_events.size()) {
        if (const auto* d = DelegationById(st, cv.delegation_events[h])) {
          hop->set_event_id(d->event.hex());
          hop->set_topic(d->topic);
          hop->set_timestamp_ms(d->timestamp_ms);
        }
      }
      from = to;
    }
    x->set_voted_by(from.hex());
    if (const auto* v = VoteById(*p, cv.vote_event)) {
      x->set_vote_event(v->event.hex());
      x->set_vote_seq(v->seq);
      x->set_vote_timestamp_ms(v->timestamp_ms);
    }
  }
  *a.mutable_excluded_votes() = a.proposal().explanation().excluded();

  for (const auto& f : p->flags) {
    auto* x = a.add_flags();
    x->set_flag_id(f.event.hex());
    x->set_flagger(f.flagger.hex());
    x->set_severity(SeverityWord(f.severity));
    x->set_category(f.category);
    x->set_timestamp_ms(f.timestamp_ms);
    const FlagNote* note = nullptr;
    for (const auto& n : e.flags) {
      if (n.flag == f.event) note = &n;
    }
    x->set_counted(note != nullptr);  // within the cut-off and the round's view
    if (note) {
      x->set_state(FlagStateWord(note->state));
      x->set_blocking(note->state == FlagState::kOpen && note->blocking_severity);
    }
    for (const auto& res : f.resolutions) {
      auto* y = x->add_resolutions();
      y->set_event_id(res.event.hex());
      y->set_author(res.author.hex());
      y->set_kind(res.kind == v1::FlagResolution::WITHDRAW   ? "withdraw"
                  : res.kind == v1::FlagResolution::ANSWER   ? "answer"
                  : res.kind == v1::FlagResolution::OVERRIDE ? "override"
                                                             : "unknown");
      y->set_timestamp_ms(res.timestamp_ms);
      y->set_counted(res.timestamp_ms <= e.cutoff_ms);
    }
    for (const auto& en : p->endorsements) {
      auto* y = x->add_endorsements();
      y->set_event_id(en.event.hex());
      y->set_member(en.member.hex());
      y->set_timestamp_ms(en.timestamp_ms);
      y->set_acceptance(note && std::find(note->acceptances.begin(), note->acceptances.end(),
                                          en.member) != note->acceptances.end());
    }
  }

  // The comparisons, recomputed here from the figures with exact integers and rationals.
  const mpz_class participants = e.participants, eligible = e.eligible_members;
  if (e.quorum_by_weight) {
    const mpq_class pw = ToMpq(e.participant_weight), ew = ToMpq(e.eligible_weight);
    const mpq_class q_left = pw * kBpsWhole, q_right = mpq_class(e.quorum_bps) * ew;
    AddCheck(&a, "participant_weight × 10000 ≥ quorum_bps × eligible_weight (eligible_members > 0)",
             FractionText(q_left), FractionText(q_right), eligible > 0 && q_left >= q_right);
  } else {
    const mpz_class q_left = participants * kBpsWhole, q_right = mpz_class(e.quorum_bps) * eligible;
    AddCheck(&a, "participants × 10000 ≥ quorum_bps × eligible_members (eligible_members > 0)",
             q_left.get_str(), q_right.get_str(), eligible > 0 && q_left >= q_right);
  }
  const mpq_class for_w = ToMpq(e.for_weight), against_w = ToMpq(e.against_weight);
  const mpq_class a_left = for_w * kBpsWhole;
  const mpq_class a_right = mpq_class(e.approval_bps) * (for_w + against_w);
  if (o->rule_change) {
    AddCheck(
        &a, "for_weight × 10000 ≥ rule_change_bps × (for_weight + against_weight) (for_weight > 0)",
        FractionText(a_left), FractionText(a_right), for_w > 0 && a_left >= a_right);
  } else {
    AddCheck(&a,
             "for_weight × 10000 > approval_bps × (for_weight + against_weight) (for_weight > 0)",
             FractionText(a_left), FractionText(a_right), for_w > 0 && a_left > a_right);
  }
  std::size_t blocking = 0;
  for (const auto& f : e.flags) blocking += f.state == FlagState::kOpen && f.blocking_severity;
  AddCheck(&a, "open flags of blocking severity = 0", std::to_string(blocking), "0", blocking == 0);
  if (e.allocation.considered) {
    const mpz_class pool = mpz_class(std::to_string(st.pool_minor.minor()));
    const mpz_class amount = mpz_class(std::to_string(o->amount_minor.minor()));
    const mpz_class cap_left = amount * kBpsWhole;
    const mpz_class cap_right = mpz_class(rules.max_share_per_proposal_bps) * pool;
    AddCheck(&a, "amount_minor × 10000 ≤ max_share_per_proposal_bps × pool_minor",
             cap_left.get_str(), cap_right.get_str(), cap_left <= cap_right);
    const mpz_class org_left =
        (mpz_class(std::to_string(e.allocation.org_spent_before.minor())) + amount) * kBpsWhole;
    const mpz_class org_right = mpz_class(rules.max_share_per_org_bps) * pool;
    AddCheck(&a,
             "(org_spent_before_minor + amount_minor) × 10000 ≤ max_share_per_org_bps × pool_minor",
             org_left.get_str(), org_right.get_str(), org_left <= org_right);
    if (rules.allocation != v1::DecisionRules::EQUAL_SHARES) {
      AddCheck(&a, "amount_minor ≤ pool_left_before_minor", std::to_string(o->amount_minor.minor()),
               std::to_string(e.allocation.pool_left_before.minor()),
               o->amount_minor <= e.allocation.pool_left_before);
    }
  }

  Provenance round = prov;
  round.state_digest.clear();  // said once, at the top
  round.vector_digest.clear();
  *a.mutable_round() = TallyViewOf(st, r, round);
  if (round_summary) {
    *a.mutable_funding_round() = RoundViewOf(st, *round_summary);
    for (const auto& al : r.alerts) {
      if (al.deadline_ms == round_summary->deadline_ms) *a.add_alerts() = AlertViewOf(st, al);
    }
  }
  return a;
}

}  // namespace polder::decide
