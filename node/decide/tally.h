// Tally: every proposal's outcome, and why, from the circle state alone.
//
// Same CircleState and `as_of_ms` → the same TallyResult, bit for bit, on every node: the
// computation uses integers and exact rationals only (no floating point), no clock and no
// I/O, and every list it returns is sorted canonically. The rules, one by one:
//
// * Time. A proposal is open while as_of_ms <= its deadline, closed after. Its cut-off is
//   min(as_of_ms, deadline): votes, flags, flag resolutions, endorsements and delegations
//   timestamped after the cut-off do not count (an open proposal shows provisional figures).
//   A withdrawal counts when timestamped at or before as_of_ms. The deadline is the proposal's
//   own deadline_ms (the author's CLI derives it from voting_window_ms when proposing).
// * Who counts. Members admitted (earliest admission) at or before the cut-off are eligible;
//   they make the quorum's denominator. A forked member (one who equivocated) stays in the
//   denominator but casts no vote, directly or through delegation; a delegation chain that
//   reaches a forked member ends there with no vote.
// * A member's vote is their latest vote on the proposal (by their own seq) timestamped at or
//   before the cut-off. Without one, their delegation for the proposal's topic (or, without
//   that, their general delegation) in force at the cut-off is followed, transitively, to the
//   first member on the chain who voted directly; that member's choice is used. A chain that
//   comes back to a member already on it (cycle) or ends at a member with no vote and no
//   delegation resolves to no vote. A direct vote always overrides the member's delegation.
//   A revocation ends the delegation for proposals whose cut-off is at or after it.
// * Quorum: participants × 10000 ≥ quorum_bps × eligible members (members, not weights), where
//   participants are eligible members with a vote (for, against or abstain; direct or
//   delegated).
// * Approval: for × 10000 > approval_bps × (for + against), in weights, and for > 0. Weights:
//   ONE_MEMBER_ONE_VOTE gives each member 1; ORGANISATION_BALANCED gives each organisation
//   (among eligible members) a total of 1, split equally among its members — so for and
//   against are exact rationals.
// * Risk gating: a flag counts when raised at or before the cut-off; it blocks funding while it
//   is open and its severity ≥ blocking_severity. It ends (a) when its flagger withdraws it, or
//   (b) when the proposer has answered it with a mitigation and at least
//   mitigation_acceptances eligible, unforked members other than the proposer and the flagger
//   accepted it: a member accepts by endorsing the proposal after the first answer (endorsement
//   timestamp strictly greater than the answer's, and at or before the cut-off).
//   TODO(issue 5): the override vote (override_bps) is not implemented; such flags stay open.
// * Allocation (closed proposals that are not withdrawn, meet quorum, are approved and are not
//   blocked): first, one whose amount × 10000 > max_share_per_proposal_bps × pool is not funded.
//   GREEDY_APPROVAL then takes the rest by for-weight (most first; then more for votes, lower
//   amount, smaller id), funding each that fits what is left of the pool and keeps its
//   proposer's organisation within max_share_per_org_bps of the pool, skipping the others.
//   EQUAL_SHARES runs the Method of Equal Shares (allocate.h; cost utilities, add1) with one
//   ballot per member who voted for at least one candidate (their approvals: the candidates
//   their vote, direct or delegated, is FOR), then drops, in MES's funding order, any project
//   that would take its organisation over the cap (the money stays unspent).
//
// Thread-safety: pure functions; call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/decide/allocate.h"
#include "node/decide/fold.h"

namespace polder::decide {

enum class Status { kOpen, kWithdrawn, kFunded, kNotFunded };
enum class Reason {
  kNone,  // open, withdrawn or funded
  kQuorumNotMet,
  kNotApproved,
  kBlockedByFlag,
  kOverProposalCap,  // amount above max_share_per_proposal_bps of the pool
  kOrgCapReached,    // would take the organisation above max_share_per_org_bps of the pool
  kBudgetExhausted,  // greedy: did not fit what was left
  kNotSelected,      // equal shares: its approvers could not afford it
};
const char* ToString(Status s);
const char* ToString(Reason r);

enum class Exclusion {
  kLate,          // timestamped after the cut-off
  kForkedAuthor,  // the voter equivocated
  kNotMember,     // the author was not (yet) a member: never admitted, or admitted after cut-off
  kNotApplied,    // a gap in the voter's log before it, or void (see Fold)
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
  kWithdrawn,  // by its flagger
  kMitigated,  // answered by the proposer and accepted by enough members
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
  bool operator==(const FlagNote&) const = default;
};

struct AllocationNote {
  bool considered = false;     // it was a candidate for allocation
  Money pool_left_before = 0;  // what was left of the pool when it was considered
  Money org_spent_before = 0;  // its organisation's funded total at that point
  Money proposal_cap = 0;      // floor(pool × max_share_per_proposal_bps / 10000)
  Money org_cap = 0;           // floor(pool × max_share_per_org_bps / 10000)
  bool operator==(const AllocationNote&) const = default;
};

struct Explanation {
  std::int64_t deadline_ms = 0;
  std::int64_t cutoff_ms = 0;
  bool closed = false;
  std::uint32_t eligible_members = 0;
  std::uint32_t participants = 0;
  std::uint32_t quorum_bps = 0;
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
  bool operator==(const Explanation&) const = default;
};

struct ProposalOutcome {
  EventId proposal;
  std::string title;
  MemberKey author;
  std::string organisation;  // the proposer's
  std::string topic;
  Money amount_minor = 0;
  Status status = Status::kOpen;
  Reason reason = Reason::kNone;
  Explanation explanation;
  bool operator==(const ProposalOutcome&) const = default;
};

struct TallyResult {
  std::int64_t as_of_ms = 0;
  Money pool_minor = 0;
  Money allocated_minor = 0;  // total of the funded amounts, ≤ pool
  // EQUAL_SHARES only: why Mes() refused the instance (a limit in limits.h), in which case no
  // candidate is funded; empty otherwise.
  std::string allocation_error;
  std::vector<ProposalOutcome> proposals;  // by proposal id
  bool operator==(const TallyResult&) const = default;
};

// Every proposal's outcome at `as_of_ms` (Unix ms, given by the caller: no clock here).
TallyResult Tally(const CircleState& state, std::int64_t as_of_ms);

// The outcome of one proposal in plain words, several lines, names from `state`.
std::string ExplainText(const CircleState& state, const ProposalOutcome& outcome);
// All proposals, one block each.
std::string ExplainText(const CircleState& state, const TallyResult& result);

}  // namespace polder::decide
