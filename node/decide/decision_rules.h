// A circle's decision rules with every default filled in (docs/protocol.md §2, §15): the
// charter's, as rule changes replace them. An event carries DecisionRules with fields left at 0
// for "the default"; the tally works on Rules.
//
// Pure. Thread-safety: none needed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "polder/v1/event.pb.h"

namespace polder::decide {

// Defaults of DecisionRules fields left at 0 (event.proto, docs/protocol.md §2).
inline constexpr std::uint32_t kBpsWhole = 10'000;  // 100 % in basis points
inline constexpr std::int64_t kDefaultVotingWindowMs = 7LL * 24 * 60 * 60 * 1000;
inline constexpr std::uint32_t kDefaultQuorumBps = 5'000;
inline constexpr std::uint32_t kDefaultApprovalBps = 5'000;  // strictly more than this share
inline constexpr std::uint32_t kDefaultMaxSharePerProposalBps = kBpsWhole;  // no limit
inline constexpr std::uint32_t kDefaultMaxSharePerOrgBps = kBpsWhole;       // no limit
inline constexpr v1::Severity kDefaultBlockingSeverity = v1::HIGH;
inline constexpr std::uint32_t kDefaultMitigationAcceptances = 2;
inline constexpr std::uint32_t kDefaultOverrideBps = 6'666;  // at least this share
inline constexpr std::uint32_t kDefaultAdmissionQuorum = 1;
inline constexpr std::uint32_t kDefaultAdmissionOrganisations = 2;
inline constexpr std::uint32_t kDefaultRuleChangeBps = 6'666;  // at least this share
inline constexpr std::uint32_t kDefaultRemovalBps = 6'666;     // at least this share
inline constexpr std::uint32_t kMinRemovers = 2;               // however small the circle
inline constexpr std::int64_t kDefaultLateFlagWindowMs = 24LL * 60 * 60 * 1000;

// DecisionRules with every default filled in.
struct Rules {
  std::int64_t voting_window_ms = kDefaultVotingWindowMs;
  std::uint32_t quorum_bps = kDefaultQuorumBps;
  std::uint32_t approval_bps = kDefaultApprovalBps;
  v1::DecisionRules::Weighting weighting = v1::DecisionRules::ONE_MEMBER_ONE_VOTE;
  v1::DecisionRules::Allocation allocation = v1::DecisionRules::GREEDY_APPROVAL;
  std::uint32_t max_share_per_proposal_bps = kDefaultMaxSharePerProposalBps;
  std::uint32_t max_share_per_org_bps = kDefaultMaxSharePerOrgBps;
  v1::Severity blocking_severity = kDefaultBlockingSeverity;
  std::uint32_t mitigation_acceptances = kDefaultMitigationAcceptances;
  std::uint32_t override_bps = kDefaultOverrideBps;
  // Distinct members who must admit a newcomer before they count (vote, seal, are counted in
  // the quorum); the replica stores a member's events after one admission (see tally.h).
  std::uint32_t admission_quorum = kDefaultAdmissionQuorum;
  // Distinct organisations whose members must admit a newcomer (all eligible members while fewer
  // organisations have one).
  std::uint32_t admission_organisations = kDefaultAdmissionOrganisations;
  // The circle's organisations, sorted, distinct: a member counts only when their organisation is
  // one of them. The charter's (with its founder's); adopted rule changes add to it.
  std::vector<std::string> organisations;
  std::uint32_t seals_required = 0;  // 0: a majority of the members eligible at the deadline
  std::uint32_t rule_change_bps = kDefaultRuleChangeBps;
  bool quorum_by_weight = false;  // quorum in weight rather than in members
  // Share of the other eligible members whose removals remove a member (at least kMinRemovers).
  std::uint32_t removal_bps = kDefaultRemovalBps;
  // A flag that would block a proposal at its deadline, raised less than this before it, moves
  // the proposal's decision once to deadline + this window (tally.h "Risk gating").
  std::int64_t late_flag_window_ms = kDefaultLateFlagWindowMs;
  bool operator==(const Rules&) const = default;
};
Rules EffectiveRules(const v1::DecisionRules& rules);
// `rules` with `more` added to its organisations (sorted, distinct).
void AddOrganisations(Rules& rules, const std::vector<std::string>& more);
bool Listed(const Rules& rules, const std::string& organisation);
// The rules as an event carries them (every field set; EffectiveRules(ToProto(r)) == r).
v1::DecisionRules ToProto(const Rules& rules);

}  // namespace polder::decide
