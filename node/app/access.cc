#include "node/app/access.h"

#include <algorithm>
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
  KeyState keys;
  // Over every admission held, whatever its timestamp: one timestamped a little ahead (an
  // admitter's clock runs fast; the gate allows kMaxFutureSkewMs) would otherwise keep the member
  // out until the next forced refresh, since nothing else changes the mark.
  for (const auto& s : decide::Standings(*state, rules, std::numeric_limits<std::int64_t>::max())) {
    if (s.eligible) eligible.insert(s.key);
    if (s.removed) keys.last_removal_ms = std::max(keys.last_removal_ms, s.removed_ms);
  }
  // The circle's key: the latest rotation by an eligible member (state.network_keys is in
  // ActBefore order).
  if (const auto* founder = state->FindMember(state->founder)) keys.since_ms = founder->admitted_ms;
  for (auto it = state->network_keys.rbegin(); it != state->network_keys.rend(); ++it) {
    if (!eligible.count(it->author)) continue;
    keys.current_id = it->key_id;
    keys.since_ms = it->timestamp_ms;
    break;
  }
  if (keys.current_id) {
    for (const auto& r : state->network_keys) {
      if (r.key_id == *keys.current_id && eligible.count(r.author)) keys.events.push_back(r.event);
    }
  }
  keys.due = keys.last_removal_ms != 0 && keys.last_removal_ms >= keys.since_ms;
  keys.recipients.assign(eligible.begin(), eligible.end());
  for (const auto& d : state->devices) {
    if (eligible.count(d.member) && !d.frozen_from) keys.recipients.push_back(d.key);
  }
  std::sort(keys.recipients.begin(), keys.recipients.end());
  keys_ = std::move(keys);
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
