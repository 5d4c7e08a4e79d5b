#include "node/cli/rule_options.h"

#include <algorithm>

#include "node/cli/amount.h"
#include "node/cli/command.h"
#include "storage/rulebook/limits.h"

namespace polder::cli {

v1::Severity ParseSeverity(const std::string& s) {
  if (s == "info") return v1::INFO;
  if (s == "low") return v1::LOW;
  if (s == "medium") return v1::MEDIUM;
  if (s == "high") return v1::HIGH;
  if (s == "critical") return v1::CRITICAL;
  Usage("severity must be info, low, medium, high or critical, not '" + s + "'");
}

void ApplyRules(const RuleArgs& a, v1::DecisionRules* r) {
  if (!a.window.empty()) r->set_voting_window_ms(Must(ParseDuration(a.window)));
  if (!a.quorum.empty()) r->set_quorum_bps(Must(ParsePercent(a.quorum)));
  if (!a.approval.empty()) r->set_approval_bps(Must(ParsePercent(a.approval)));
  if (a.weighting == "member") {
    r->set_weighting(v1::DecisionRules::ONE_MEMBER_ONE_VOTE);
  } else if (a.weighting == "org-balanced") {
    r->set_weighting(v1::DecisionRules::ORGANISATION_BALANCED);
  } else if (!a.weighting.empty()) {
    Usage("--weighting must be member or org-balanced");
  }
  if (a.allocation == "greedy") {
    r->set_allocation(v1::DecisionRules::GREEDY_APPROVAL);
  } else if (a.allocation == "mes") {
    r->set_allocation(v1::DecisionRules::EQUAL_SHARES);
  } else if (!a.allocation.empty()) {
    Usage("--allocation must be greedy or mes");
  }
  if (!a.blocking.empty()) r->set_blocking_severity(ParseSeverity(a.blocking));
  if (!a.max_share.empty()) r->set_max_share_per_proposal_bps(Must(ParsePercent(a.max_share)));
  if (!a.max_org_share.empty()) r->set_max_share_per_org_bps(Must(ParsePercent(a.max_org_share)));
  if (!a.override_share.empty()) r->set_override_bps(Must(ParsePercent(a.override_share)));
  if (!a.rule_change_share.empty()) {
    r->set_rule_change_bps(Must(ParsePercent(a.rule_change_share)));
  }
  if (!a.removal_share.empty()) r->set_removal_bps(Must(ParsePercent(a.removal_share)));
  if (!a.late_flag_window.empty()) {
    const std::int64_t w = Must(ParseDuration(a.late_flag_window));
    if (w <= 0 || w > rulebook::kMaxLateFlagWindowMs) {
      Usage("--late-flag-window must be more than 0 and at most 90 days");
    }
    r->set_late_flag_window_ms(w);
  }
  if (a.acceptances) r->set_mitigation_acceptances(*a.acceptances);
  if (a.admission) r->set_admission_quorum(*a.admission);
  if (a.admission_orgs) {
    if (*a.admission_orgs == 0) Usage("--admission-orgs must be at least 1");
    r->set_admission_organisations(*a.admission_orgs);
  }
  for (const auto& org : a.organisations) {
    if (org.empty()) Usage("an organisation needs a name");
    const auto& have = r->organisations();
    if (std::find(have.begin(), have.end(), org) == have.end()) r->add_organisations(org);
  }
  if (a.seals) r->set_seals_required(*a.seals);
  if (a.quorum_by == "weight") {
    r->set_quorum_by_weight(true);
  } else if (a.quorum_by == "members") {
    r->set_quorum_by_weight(false);
  } else if (!a.quorum_by.empty()) {
    Usage("--quorum-by must be members or weight");
  }
}

}  // namespace polder::cli
