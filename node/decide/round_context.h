// RoundContext: what every proposal of one funding round is counted against — the cut-off, the
// view of events that decide the round, the rules in force, who is eligible, the organisations
// and the members' weights, and the delegations in force (tally.h: "Time", "Who counts",
// "Weights"). round_context.cc holds the eligibility and weight rules; delegation.cc the
// delegations.
//
// Internal to node/decide: not included outside it (the public API is tally.h).
//
// Ownership: refers to the state, the member index and the rules, which must outlive it.
// Thread-safety: Prepare() once, then const use from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gmpxx.h>

#include "node/decide/delegation.h"
#include "node/decide/fold.h"
#include "node/decide/member_index.h"

namespace polder::decide {

// Which events decide a round: every event held, or, once the round is sealed, those within the
// sealed heads (seals.h).
struct View {
  const std::vector<std::uint64_t>* sealed = nullptr;  // per log (MemberIndex); null: every event
  bool Covers(int log, std::uint64_t seq) const {
    if (!sealed) return true;
    return log >= 0 && seq <= (*sealed)[static_cast<std::size_t>(log)];
  }
};

struct RoundContext {
  RoundContext(const CircleState& s, const MemberIndex& ix, const Rules& r)
      : st(s), index(ix), rules(r) {}

  const CircleState& st;
  const MemberIndex& index;
  const Rules& rules;
  // Optional: per proposal (position in st.proposals), each vote's voter index.
  const std::vector<std::vector<int>>* voters = nullptr;
  std::int64_t cutoff = 0;  // min(as_of, deadline): what is timestamped after it does not count
  bool closed = false;      // as_of is past the deadline
  View view;
  // Which admissions and removals count (tally.h "Who counts"): for a closed round after the
  // first, those its committee's seals cover (seals.h); unset: those in `view`.
  View membership;
  const std::vector<char>* forked = nullptr;  // per member index; null: every fork held counts

  // Filled by Prepare(), per member index where it says so.
  std::vector<char> eligible;            // per member index
  std::vector<char> removed;             // per member index: removed by the cut-off
  std::vector<std::int64_t> removed_at;  // per member index: when (the completing act's timestamp)
  std::vector<int> org_of;               // per member index → index into orgs
  std::vector<std::string> orgs;         // names, sorted
  std::vector<std::uint32_t> org_size;   // eligible members per organisation
  std::uint32_t n_eligible = 0;
  std::uint32_t n_orgs = 0;          // organisations with an eligible member
  std::vector<Fraction> org_weight;  // each member's weight, per organisation
  DelegationsInForce delegations;    // at the cut-off, within the view

  // Computes eligibility, organisations, weights and delegations from cutoff and view; with
  // `why_not`, also says (per member index) why each member who is not eligible is not.
  void Prepare(std::vector<std::string>* why_not = nullptr);

  // The voter of `p.votes[j]`, as a member index (-1 when not a member).
  int VoterOf(const ProposalRecord& p, std::size_t j) const {
    if (voters) return (*voters)[static_cast<std::size_t>(&p - st.proposals.data())][j];
    return index.Of(p.votes[j].voter);
  }
  const View& MembershipView() const { return membership.sealed ? membership : view; }
  bool Balanced() const { return rules.weighting == v1::DecisionRules::ORGANISATION_BALANCED; }
  bool Eligible(int i) const { return i >= 0 && eligible[static_cast<std::size_t>(i)]; }
  // Forked: in a sealed round, as its seals say (CountSeals); otherwise as the events held say.
  bool Forked(int i) const {
    if (i < 0) return false;
    if (forked) return (*forked)[static_cast<std::size_t>(i)] != 0;
    return st.members[static_cast<std::size_t>(i)].forked();
  }
  // A member's weight as an exact fraction of the total (for + against are sums of these).
  mpq_class Weight(int i) const {
    if (!Balanced()) return 1;
    return mpq_class(1, org_size[static_cast<std::size_t>(org_of[static_cast<std::size_t>(i)])]);
  }
  mpq_class TotalWeight() const { return Balanced() ? n_orgs : n_eligible; }
};

}  // namespace polder::decide
