// The risk gate (tally.h: "Risk gating"): which flags on a proposal count at its round's
// cut-off, how each one ended — withdrawn by its flagger, overridden by enough members' weight,
// or mitigated (answered by the proposer, then accepted by enough other members) — and whether
// one that is still open blocks funding.
//
// Internal to node/decide: not included outside it (the public API is tally.h).
//
// Thread-safety: a pure function.
#pragma once

#include "node/decide/fold.h"
#include "node/decide/tally.h"

namespace polder::decide {

struct RoundContext;

// Appends a FlagNote per flag within the cut-off and the view (in the proposal's order: by
// timestamp, then id) to e->flags, and sets e->blocked when one is open at a blocking severity.
// Flags count up to the proposal's own deadline at most (a proposal moved by a late flag counts
// no flag raised after its deadline, and cannot be moved again).
void GateFlags(const RoundContext& ctx, const ProposalRecord& proposal, Explanation* e);

// For a closed round whose cut-off is the proposal's own deadline D: the first flag (by
// timestamp, then id) that blocks the proposal at D and was raised after D − the rules'
// late_flag_window_ms; null when there is none (tally.h "Risk gating": such a flag moves the
// proposal's decision to D + the window).
const FlagRecord* LateBlockingFlag(const RoundContext& ctx, const ProposalRecord& proposal);

}  // namespace polder::decide
