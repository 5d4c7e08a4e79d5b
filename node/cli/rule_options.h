// The decision-rule options shared by `polder circle create` (the charter's rules) and
// `polder propose-rules` (a change of them), and the severity words of `--blocking-severity` and
// `polder flag --severity`. A bad value leaves through Usage (exit 2) or Must (exit 65).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "polder/v1/event.pb.h"

namespace polder::cli {

// Decision-rule options: an empty string (or no value) leaves the rule as it is.
struct RuleArgs {
  std::string window, quorum, approval, weighting, allocation, blocking, max_share, max_org_share;
  std::string override_share, rule_change_share, removal_share, late_flag_window;
  std::string quorum_by;  // members | weight
  std::optional<std::uint32_t> acceptances, admission, admission_orgs, seals;
  std::vector<std::string> organisations;  // added to the list (never removed)
};

// Sets in `r` the rules `a` gives.
void ApplyRules(const RuleArgs& a, v1::DecisionRules* r);

// info | low | medium | high | critical.
v1::Severity ParseSeverity(const std::string& s);

}  // namespace polder::cli
