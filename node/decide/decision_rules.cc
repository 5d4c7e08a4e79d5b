#include "node/decide/decision_rules.h"

#include <algorithm>

#include "storage/rulebook/limits.h"

namespace polder::decide {

Rules EffectiveRules(const v1::DecisionRules& r) {
  Rules out;
  if (r.voting_window_ms() > 0) out.voting_window_ms = r.voting_window_ms();
  if (r.quorum_bps() != 0) out.quorum_bps = std::min(r.quorum_bps(), kBpsWhole);
  if (r.approval_bps() != 0) out.approval_bps = std::min(r.approval_bps(), kBpsWhole);
  if (r.weighting() == v1::DecisionRules::ORGANISATION_BALANCED) out.weighting = r.weighting();
  if (r.allocation() == v1::DecisionRules::EQUAL_SHARES) out.allocation = r.allocation();
  if (r.max_share_per_proposal_bps() != 0) {
    out.max_share_per_proposal_bps = std::min(r.max_share_per_proposal_bps(), kBpsWhole);
  }
  if (r.max_share_per_org_bps() != 0) {
    out.max_share_per_org_bps = std::min(r.max_share_per_org_bps(), kBpsWhole);
  }
  if (r.blocking_severity() != v1::SEVERITY_UNSPECIFIED)
    out.blocking_severity = r.blocking_severity();
  if (r.mitigation_acceptances() != 0) out.mitigation_acceptances = r.mitigation_acceptances();
  if (r.override_bps() != 0) out.override_bps = std::min(r.override_bps(), kBpsWhole);
  if (r.admission_quorum() != 0) out.admission_quorum = r.admission_quorum();
  if (r.admission_organisations() != 0) out.admission_organisations = r.admission_organisations();
  AddOrganisations(out, {r.organisations().begin(), r.organisations().end()});
  out.seals_required = r.seals_required();
  out.quorum_by_weight = r.quorum_by_weight();
  if (r.rule_change_bps() != 0) out.rule_change_bps = std::min(r.rule_change_bps(), kBpsWhole);
  if (r.removal_bps() != 0) out.removal_bps = std::min(r.removal_bps(), kBpsWhole);
  if (r.late_flag_window_ms() > 0) {
    out.late_flag_window_ms = std::min(r.late_flag_window_ms(), rulebook::kMaxLateFlagWindowMs);
  }
  return out;
}

v1::DecisionRules ToProto(const Rules& r) {
  v1::DecisionRules out;
  out.set_voting_window_ms(r.voting_window_ms);
  out.set_quorum_bps(r.quorum_bps);
  out.set_approval_bps(r.approval_bps);
  out.set_weighting(r.weighting);
  out.set_allocation(r.allocation);
  out.set_max_share_per_proposal_bps(r.max_share_per_proposal_bps);
  out.set_max_share_per_org_bps(r.max_share_per_org_bps);
  out.set_blocking_severity(r.blocking_severity);
  out.set_mitigation_acceptances(r.mitigation_acceptances);
  out.set_override_bps(r.override_bps);
  out.set_admission_quorum(r.admission_quorum);
  out.set_admission_organisations(r.admission_organisations);
  for (const auto& org : r.organisations) out.add_organisations(org);
  out.set_seals_required(r.seals_required);
  out.set_rule_change_bps(r.rule_change_bps);
  out.set_quorum_by_weight(r.quorum_by_weight);
  out.set_removal_bps(r.removal_bps);
  out.set_late_flag_window_ms(r.late_flag_window_ms);
  return out;
}

void AddOrganisations(Rules& rules, const std::vector<std::string>& more) {
  auto& orgs = rules.organisations;
  orgs.insert(orgs.end(), more.begin(), more.end());
  std::sort(orgs.begin(), orgs.end());
  orgs.erase(std::unique(orgs.begin(), orgs.end()), orgs.end());
}

bool Listed(const Rules& rules, const std::string& organisation) {
  return std::binary_search(rules.organisations.begin(), rules.organisations.end(), organisation);
}

}  // namespace polder::decide
