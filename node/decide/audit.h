// Audit: the tally as documents people and programs can read and re-check.
//
// Turns a TallyResult (tally.h) into the api.proto views the CLI prints — TallyView for
// `polder tally`, ExplanationView for `polder tally --explain`, AuditView for `polder audit` —
// and names every enum value with one stable word. An AuditView holds what an independent
// checker needs to recompute one decision: the rules in force, the members and who was
// eligible, each counted vote with the Vote and Delegation events it rests on and its exact
// weight, the excluded votes and why, the flags with their resolutions and endorsements, and
// every comparison (quorum, approval, caps, budget) with both sides as exact numbers.
//
// Extending: a new Explanation field goes into ExplanationView (api.proto) and ExplanationViewOf;
// a new Status, Reason, Exclusion, DelegationEnd or FlagState value needs its word in the
// matching *Word function below (their switches have no default, so -Wswitch names the gap).
//
// Pure: no clock, no I/O. The caller supplies what comes from outside (Provenance).
// Thread-safety: none needed.
#pragma once

#include <cstdint>
#include <string>

#include "node/decide/fold.h"
#include "node/decide/tally.h"
#include "polder/v1/api.pb.h"
#include "proto/result.h"

namespace polder::decide {

inline constexpr char kAuditFormat[] = "polder-audit-v1";

// Stable snake_case words (the JSON values; text output shows them with spaces).
// The status word of an outcome: open, withdrawn, funded, not_funded. It takes the whole
// outcome so that finer states (provisional, final) can be told apart here alone.
const char* StatusWord(const ProposalOutcome& outcome);
const char* FinalityWord(Finality f);  // open, provisional, final
const char* ReasonWord(Reason r);      // "" for kNone
const char* ExclusionWord(Exclusion e);
const char* DelegationEndWord(DelegationEnd e);
const char* FlagStateWord(FlagState s);
const char* WeightingWord(v1::DecisionRules::Weighting w);
const char* AllocationWord(v1::DecisionRules::Allocation a);

// Where the folded state came from; the caller reads it from the replica.
struct Provenance {
  std::string as_of;          // as_of_ms as RFC 3339 (formatted by the caller: no clock here)
  std::string state_digest;   // hex, Replica::StateDigest()
  std::string vector_digest;  // hex, VersionVector::Digest()
  std::uint64_t events_read = 0;
};

// One outcome's summary (no explanation).
v1::ProposalOutcomeView OutcomeView(const CircleState& state, const ProposalOutcome& outcome);
// The explanation of one outcome, with ExplainText() in `text`.
v1::ExplanationView ExplanationViewOf(const CircleState& state, const ProposalOutcome& outcome);
// Every outcome (summaries) and the pool's totals.
v1::TallyView TallyViewOf(const CircleState& state, const TallyResult& result,
                          const Provenance& provenance);

// The outcome of `proposal` (with its explanation), or nullptr.
const ProposalOutcome* FindOutcome(const TallyResult& result, const EventId& proposal);

// The audit document of `proposal`; kNotFound when the tally has no such proposal.
[[nodiscard]] Result<v1::AuditView> Audit(const CircleState& state, const TallyResult& result,
                                          const EventId& proposal, const Provenance& provenance);

}  // namespace polder::decide
