// One proposal's tally within its round (tally.h: "A member's vote", "Quorum", "Approval"):
// which votes count and why the others do not, the figures per organisation in exact weights,
// quorum and approval, the risk gate, and the status before the round's allocation.
//
// Internal to node/decide: not included outside it (the public API is tally.h).
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <vector>

#include <gmpxx.h>

#include "node/decide/fold.h"
#include "node/decide/tally.h"

namespace polder::decide {

struct RoundContext;

// Votes Fold did not apply (CircleState::ignored), per proposal voted on; listed as excluded.
using IgnoredVotes = std::map<EventId, std::vector<const IgnoredEvent*>>;
IgnoredVotes IgnoredVotesOf(const CircleState& st);

// The outcome of `proposal` before allocation: open, withdrawn, adopted or not (a rule change),
// or not funded with the first reason against it — none yet for a candidate, which
// Allocate() (round_allocation.h) decides. Sets *for_weight to its exact for-weight.
ProposalOutcome TallyProposal(const RoundContext& ctx, const ProposalRecord& proposal,
                              const IgnoredVotes& ignored_votes, mpq_class* for_weight);

}  // namespace polder::decide
