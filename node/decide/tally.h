// Tally: every proposal's outcome, and why, from the circle state alone.
//
// Same CircleState and `as_of_ms` → the same TallyResult, bit for bit, on every node: the
// computation uses integers and exact rationals only (no floating point), no clock and no
// I/O, and every list it returns is sorted canonically. The rules, one by one (docs/protocol.md
// §15 has the same text for implementers):
//
// * Rounds. Proposals with the same deadline form a funding round. Rounds are decided in
//   deadline order: each starts with what earlier rounds left of the pool, and uses the rules in
//   force, i.e. the charter's as replaced by the rule changes adopted in earlier rounds (in
//   deadline order, then by proposal id). A round is open while as_of_ms <= its deadline.
// * Time. A proposal's cut-off is min(as_of_ms, deadline): votes, flags, resolutions,
//   endorsements, delegations, admissions and withdrawals timestamped after it do not count.
// * Seals and finality. After a deadline each node publishes a Seal naming, for every author, how
//   much of their log it held and the id of the event there. For a round, each eligible member's
//   seal is their first seal for that deadline in their own key's log (a device's seal does not
//   count; neither does one at or beyond the member's fork). It covers an author's log up to the
//   seq it names when the event it names there is held here (else what it covers is unknown yet),
//   and its own author's log up to the seal. A seal with a base (another seal for the deadline,
//   by a member's own key, itself without a base) covers each author it does not list, other
//   than its own, as its base lists them (never inheriting a fork report); while no such base is
//   held here, what it covers of those authors is unknown. k = seals_required (at most the number n
//   of eligible members), or a majority of them when that is 0. An event counts for the round when
//   at least k seals cover it; the round is *sealed* when no seal still to come can change that for
//   any event timestamped by the deadline: per log, the first event past the counted prefix is held
//   with a later timestamp, or the seals that cover it, those whose coverage is unknown and the
//   members who have not sealed are fewer than k. Covers only grow, so a sealed round's counted
//   events stay exactly those (docs/protocol.md §15). In a sealed round a member counts as
//   forked only when k seals say their sealer held proof of the fork. A round is *final* when it is
//   sealed and every earlier round is final; a closed round that is not is *provisional* (decided
//   on everything held, and liable to change). When events timestamped before the deadline are
//   missing from a sealed round's view and deciding the round with them would change an outcome,
//   the result carries an integrity alert naming them. Who is eligible at a closed round's
//   deadline (hence n, k and whose seals count) is, from the second round on, decided by the
//   round's *committee*: the members eligible in the round before it, as that round was decided;
//   in the first round, when the charter lists founding partners, by the founder and the partners.
//   An admission or removal counts for the round only when at least k' of the committee's seals
//   of this round cover it (k' = seals_required capped at the committee's size, or a majority of
//   it); the round is sealed only when that, too, can no longer change (the same per-log rule
//   with the committee's seals and k'). So admissions published after the committee sealed,
//   backdated or not, change neither n nor the sealers. The first round of a circle founded alone
//   (no partners in its charter) has no committee: its members are counted over every admission
//   held (docs/protocol.md §15, known limits).
// * Who counts. The founder and the founding partners the charter lists are eligible from the
//   charter on. Anyone else is eligible at a cut-off once admitted, with admissions at or before
//   it, into one of the circle's organisations (the rules' list: the charter's, its founder's,
//   and those adopted rule changes added) by eligible members of admission_organisations distinct
//   organisations, and by at least admission_quorum eligible members (or all, if there are fewer);
//   while fewer organisations than admission_organisations have an eligible member, by every
//   eligible member — unless removed. A member is removed once eligible members who signed a
//   Removal of them reach removal_bps of the other eligible members (and at least kMinRemovers);
//   a removed key is never eligible again, whatever admits it later. Admissions and removals
//   count in one (timestamp, signing key, seq) order (so in each log's own order), each only
//   while its signer is eligible. A forked member (one who equivocated; in a
//   sealed round, as its seals say) stays in the denominator but casts no vote, directly or
//   through delegation.
// * A member's vote is their latest vote on the proposal (by their own seq) within the cut-off.
//   Without one, their delegation for the proposal's topic (or, without that, their general
//   delegation) in force at the cut-off is followed, transitively, to the first member on the
//   chain who voted directly. A cycle, or a chain ending at a member with no vote and no
//   delegation, or at a forked member, resolves to no vote. A direct vote always overrides.
//   A revocation ends the delegation for proposals whose cut-off is at or after it.
// * Quorum: participants × 10000 ≥ quorum_bps × eligible members (members, not weights); with
//   quorum_by_weight, the participants' weight × 10000 ≥ quorum_bps × all eligible weight.
// * Approval: for × 10000 > approval_bps × (for + against), in weights, and for > 0; a rule
//   change needs for × 10000 ≥ rule_change_bps × (for + against) instead. Weights:
//   ONE_MEMBER_ONE_VOTE gives each member 1; ORGANISATION_BALANCED gives each organisation
//   (among eligible members) a total of 1, split equally among its members.
// * Risk gating: a flag within the cut-off blocks funding while it is open and its severity ≥
//   blocking_severity. It ends when (a) its flagger withdraws it; (b) members whose weight is at
//   least override_bps of all eligible weight vote to override it; or (c) the proposer answered
//   it and at least mitigation_acceptances eligible, unforked members other than the proposer
//   and the flagger endorsed the proposal after the first answer. Only a flag of a member eligible
//   at the cut-off and unforked counts; any other blocks nothing. Late flags: when a closed
//   round's view shows a proposal (not withdrawn) blocked at its own deadline D by a flag raised
//   after D − late_flag_window_ms, its decision moves to D + the window: it leaves its round for
//   the round with that deadline (joining the proposals due then), where votes, resolutions,
//   endorsements and withdrawals up to D + the window count but flags raised after D do not (so
//   it moves once).
// * Allocation, per round, among its closed funding proposals that are not withdrawn, meet
//   quorum, are approved and are not blocked: one whose amount × 10000 > max_share_per_proposal
//   × pool is not funded. GREEDY_APPROVAL takes the rest by for-weight (most first; then more for
//   votes, lower amount, smaller id), funding each that fits what is left and keeps its
//   proposer's organisation (over all rounds) within max_share_per_org_bps of the pool.
//   EQUAL_SHARES runs the Method of Equal Shares (allocate.h; cost utilities, add1) on what is
//   left with one ballot per member who voted for a candidate, then drops, in MES's funding
//   order, any project that would take its organisation over the cap (the money stays unspent).
//
// Where each rule lives (the headers other than this one are internal to node/decide):
//   round_context.*     the cut-off, the view of events, eligibility, organisations and weights
//   delegation.*        delegations in force and the chains followed to a vote
//   risk_gate.*         flags, how they end, and whether one blocks
//   proposal_tally.*    one proposal: the votes that count, quorum, approval, status
//   round_allocation.*  the caps and greedy / equal-shares allocation within a round
//   seals.*             counting seals, the sealed view, finality and integrity alerts
//   tally_engine.cc     rounds in deadline order, rule changes between them; Tally, TallyEngine
//   explain_text.cc     the words: ToString, ExplainText, AlertText
//
// Thread-safety: pure functions; call from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "node/decide/allocate.h"
#include "node/decide/fold.h"

namespace polder::decide {

enum class Status { kOpen, kWithdrawn, kFunded, kNotFunded, kAdopted, kNotAdopted };
enum class Finality { kOpen, kProvisional, kFinal };
enum class Reason {
  kNone,  // open, withdrawn or funded
  kQuorumNotMet,
  kNotApproved,
  kBlockedByFlag,
  kOverProposalCap,  // amount above max_share_per_proposal_bps of the pool
  kOrgCapReached,    // would take the organisation above max_share_per_org_bps of the pool
  kBudgetExhausted,  // greedy: did not fit what was left
  kNotSelected,      // equal shares: its approvers could not afford it
  kNotSealed,        // published after its round was sealed: not in the round's sealed view
};
const char* ToString(Status s);
const char* ToString(Finality f);
const char* ToString(Reason r);

enum class Exclusion {
  kLate,          // timestamped after the cut-off
  kForkedAuthor,  // the voter equivocated
  kNotMember,     // the author was not (yet) a member: never admitted, or admitted after cut-off
  kNotApplied,    // a gap in the voter's log before it, or void (see Fold)
  kNotSealed,     // timestamped in time but published after the round was sealed
};
const char* ToString(Exclusion e);

struct ExcludedVote {
  MemberKey voter;
  EventId event;
  Exclusion reason = Exclusion::kLate;
  bool operator==(const ExcludedVote&) const = default;
};

struct CountedVote {
  MemberKey member;
  std::string organisation;
  v1::Choice choice = v1::CHOICE_UNSPECIFIED;
  Fraction weight;
  // Delegated: the delegates followed, the last one being who voted; empty for a direct vote.
  std::vector<MemberKey> via;
  EventId vote_event;                      // the Vote whose choice counts (the last delegate's)
  std::vector<EventId> delegation_events;  // the Delegation in force at each hop, in order
  bool operator==(const CountedVote&) const = default;
};

enum class DelegationEnd {
  kUsed,                 // reached a member who voted
  kOverriddenByOwnVote,  // the delegator voted directly
  kCycle,                // came back to a member already on the chain: no vote
  kEndsAtNonVoter,       // reached a member with no vote and no delegation: no vote
  kEndsAtForked,         // reached a forked member: no vote
  kDelegatorForked,      // the delegator is forked: no vote
};
const char* ToString(DelegationEnd e);

struct DelegationNote {
  MemberKey delegator;
  bool topic = false;            // the first hop was a topic delegation
  std::vector<MemberKey> chain;  // delegates followed, in order
  DelegationEnd end = DelegationEnd::kUsed;
  bool operator==(const DelegationNote&) const = default;
};

struct OrgFigures {
  std::string organisation;
  std::uint32_t members = 0;  // eligible
  std::uint32_t voted = 0;
  std::uint32_t for_count = 0;
  std::uint32_t against_count = 0;
  std::uint32_t abstain_count = 0;
  Fraction for_weight;
  Fraction against_weight;
  bool operator==(const OrgFigures&) const = default;
};

enum class FlagState {
  kOpen,
  kWithdrawn,   // by its flagger
  kMitigated,   // answered by the proposer and accepted by enough members
  kOverridden,  // enough members voted to override it
  // Flags that count for nothing (they never block):
  kFlaggerNotEligible,  // its flagger was not an eligible member at the cut-off
  kFlaggerForked,       // its flagger forked (equivocated)
};
const char* ToString(FlagState s);

struct FlagNote {
  EventId flag;
  MemberKey flagger;
  v1::Severity severity = v1::SEVERITY_UNSPECIFIED;
  bool blocking_severity = false;  // severity ≥ the rules' blocking severity
  FlagState state = FlagState::kOpen;
  bool answered = false;
  std::vector<MemberKey> acceptances;  // sorted
  std::vector<MemberKey> overrides;    // members who voted to override it, sorted
  Fraction override_weight;            // their weight
  Fraction total_weight;               // all eligible members' weight
  bool operator==(const FlagNote&) const = default;
};

struct AllocationNote {
  bool considered = false;  // it was a candidate for allocation
  Money pool_left_before;   // what was left of the pool when it was considered
  Money org_spent_before;   // its organisation's funded total at that point
  Money proposal_cap;       // floor(pool × max_share_per_proposal_bps / 10000)
  Money org_cap;            // floor(pool × max_share_per_org_bps / 10000)
  bool operator==(const AllocationNote&) const = default;
};

// How a round's seals were counted.
struct SealNote {
  std::uint32_t required = 0;       // k: seals that must cover an event for it to count
  std::vector<MemberKey> counting;  // eligible members whose seal counts, sorted
  std::vector<MemberKey> missing;   // eligible members with no counting seal, sorted
  // Logs (authors' or devices' keys) whose events by the deadline the seals have not decided yet:
  // held or not, seals still to come could make them count or not. Sorted.
  std::vector<MemberKey> undecided;
  // Members the round counts as forked: at least `required` seals say their sealer held proof of
  // the fork. Sorted. (A fork nobody had seen when sealing does not reach back into the round.)
  std::vector<MemberKey> forked;
  bool sealed = false;  // nothing undecided: which events count for the round is fixed
  // The committee seals that must cover an admission or a removal for it to count (a majority of
  // the committee, RoundSummary::committee); 0 in a first round without a committee.
  std::uint32_t committee_required = 0;
  bool operator==(const SealNote&) const = default;
};

// A round's SealNote as its proposals' explanations carry it: shared, since it lists members and
// logs (thousands in a large circle) and a round has many proposals. Compares by value.
class SharedSealNote {
 public:
  SharedSealNote();
  explicit SharedSealNote(SealNote note);
  const SealNote& operator*() const { return *p_; }
  const SealNote* operator->() const { return p_.get(); }
  bool operator==(const SharedSealNote& o) const { return p_ == o.p_ || *p_ == *o.p_; }

 private:
  std::shared_ptr<const SealNote> p_;
};

struct Explanation {
  std::int64_t deadline_ms = 0;
  std::int64_t cutoff_ms = 0;
  bool closed = false;
  std::uint32_t eligible_members = 0;
  std::uint32_t participants = 0;
  std::uint32_t quorum_bps = 0;
  bool quorum_by_weight = false;  // the quorum compares weights: participants' against all
  Fraction participant_weight;    // the participants' weight
  Fraction eligible_weight;       // all eligible members' weight
  bool quorum_met = false;
  std::uint32_t for_count = 0;
  std::uint32_t against_count = 0;
  std::uint32_t abstain_count = 0;
  Fraction for_weight;
  Fraction against_weight;
  std::uint32_t approval_bps = 0;
  bool approved = false;
  std::vector<OrgFigures> organisations;    // by name
  std::vector<CountedVote> votes;           // by member
  std::vector<DelegationNote> delegations;  // by delegator
  std::vector<ExcludedVote> excluded;       // by (voter, event)
  std::vector<FlagNote> flags;              // by (timestamp, id)
  bool blocked = false;
  AllocationNote allocation;
  SharedSealNote seals;                    // the round's
  bool earlier_round_provisional = false;  // sealed, but an earlier round is not final
  // Moved by a late flag ("Risk gating"): the proposal's own deadline and the flag that moved it;
  // deadline_ms is then the round's (own deadline + the window). 0 and empty when not moved.
  std::int64_t moved_from_ms = 0;
  EventId late_flag;
  bool operator==(const Explanation&) const = default;
};

struct ProposalOutcome {
  EventId proposal;
  std::string title;
  MemberKey author;
  std::string organisation;  // the proposer's
  std::string topic;
  Money amount_minor;
  bool rule_change = false;  // amount 0; adopted or not
  Status status = Status::kOpen;
  Reason reason = Reason::kNone;
  Finality finality = Finality::kOpen;
  Explanation explanation;
  bool operator==(const ProposalOutcome&) const = default;
};

struct RoundSummary {
  std::int64_t deadline_ms = 0;
  Finality finality = Finality::kOpen;
  Rules rules;             // in force for this round
  Money pool_left_before;  // what earlier rounds left of the pool
  Money allocated_minor;
  SealNote seals;
  std::vector<MemberKey> eligible;  // members eligible at the round's cut-off (its view), sorted
  // The members eligible in the round before it (in the first round: the founder and the founding
  // partners, when the charter lists any), whose seals of this round decide which admissions and
  // removals count. Sorted; empty for a first round without partners.
  std::vector<MemberKey> committee;
  std::vector<EventId> proposals;  // by id
  bool operator==(const RoundSummary&) const = default;
};

// A sealed round that events timestamped before its deadline, but missing from its sealed view,
// would decide differently.
struct IntegrityAlert {
  std::int64_t deadline_ms = 0;
  std::vector<EventId> events;     // the late events, sorted
  std::vector<EventId> proposals;  // whose outcome they would change, sorted
  bool operator==(const IntegrityAlert&) const = default;
};

struct TallyResult {
  std::int64_t as_of_ms = 0;
  Money pool_minor;
  Money allocated_minor;  // total of the funded amounts, ≤ pool
  // EQUAL_SHARES only: why Mes() refused the instance (a limit in limits.h), in which case no
  // candidate is funded; empty otherwise.
  std::string allocation_error;
  std::vector<ProposalOutcome> proposals;  // by proposal id
  std::vector<RoundSummary> rounds;        // by deadline
  std::vector<IntegrityAlert> alerts;      // by deadline
  Rules rules_now;                         // in force after every closed round
  bool operator==(const TallyResult&) const = default;
};

// Every proposal's outcome at `as_of_ms` (Unix ms, given by the caller: no clock here).
TallyResult Tally(const CircleState& state, std::int64_t as_of_ms);

// A member's standing at `as_of_ms` under `rules` (the rules in force then: a tally's rules_now),
// over every event held: whether they count (tally.h "Who counts"; network access, storage, flags
// and seals follow the same answer), who admitted them (in admission order) and, when they do not
// count, why.
struct MemberStanding {
  MemberKey key;
  bool eligible = false;
  std::vector<MemberKey> admitted_by;
  bool removed = false;               // removed (protocol §15 "Removal"): never eligible again
  std::int64_t removed_ms = 0;        // when: the timestamp of the act that completed it
  std::vector<MemberKey> removed_by;  // who signed a removal of them, in order (removed or not)
  std::string why_not;
  bool operator==(const MemberStanding&) const = default;
};
// In CircleState::members order.
std::vector<MemberStanding> Standings(const CircleState& state, const Rules& rules,
                                      std::int64_t as_of_ms);

// The same tally, kept up to date as votes arrive: a vote changes one proposal's figures, then
// the allocation of its round and of later rounds only while what a round leaves changes. A vote
// on a rule change or in a sealed round recomputes everything. Result() equals
// Tally(state(), as_of_ms) at every step (tests check this).
class TallyEngine {
 public:
  TallyEngine(CircleState state, std::int64_t as_of_ms);
  ~TallyEngine();
  TallyEngine(const TallyEngine&) = delete;
  TallyEngine& operator=(const TallyEngine&) = delete;

  // A vote the replica applied (by an admitted member, next in their log; Fold's rules). False
  // when the proposal is unknown.
  bool AddVote(const EventId& proposal, const VoteRecord& vote);
  const ProposalOutcome* Find(const EventId& proposal) const;
  Money allocated_minor() const;
  TallyResult Result() const;  // a copy
  const CircleState& state() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The outcome of one proposal in plain words, several lines, names from `state`.
std::string ExplainText(const CircleState& state, const ProposalOutcome& outcome);
// A round's alert in plain words.
std::string AlertText(const CircleState& state, const IntegrityAlert& alert);
// All proposals, one block each.
std::string ExplainText(const CircleState& state, const TallyResult& result);

}  // namespace polder::decide
