#include "node/app/access.h"

#include <limits>

#include "node/app/circle_state.h"
#include "node/decide/tally.h"

namespace polder::app {

Result<bool> Access::Refresh(std::int64_t now_ms, bool force) {
  auto mark = replica_.state().Membership(now_ms);
  if (!mark) return MakeUnexpected(mark.error());
  if (!force && mark_ && *mark_ == *mark) return false;
  if (!replica_.state().Charter()) {
    mark_ = *mark;
    return false;
  }
  auto state = LoadCircleState(replica_);
  if (!state) return MakeUnexpected(state.error());
  const auto rules = decide::Tally(*state, now_ms).rules_now;
  std::set<MemberKey> eligible;
  // Over every admission held, whatever its timestamp: one timestamped a little ahead (an
  // admitter's clock runs fast; the gate allows kMaxFutureSkewMs) would otherwise keep the member
  // out until the next forced refresh, since nothing else changes the mark.
  for (const auto& s : decide::Standings(*state, rules, std::numeric_limits<std::int64_t>::max())) {
    if (s.eligible) eligible.insert(s.key);
  }
  mark_ = *mark;
  const bool changed = !eligible_ || *eligible_ != eligible;
  eligible_ = std::move(eligible);
  return changed;
}

bool Access::Allows(const MemberKey& key) {
  if (!eligible_) return false;
  if (eligible_->count(key)) return true;
  const auto member = replica_.state().LinkedBy(key);
  return member && eligible_->count(*member);
}

}  // namespace polder::app
