#include "node/decide/risk_gate.h"

#include <algorithm>
#include <optional>
#include <set>

#include "node/decide/rational.h"
#include "node/decide/round_context.h"

namespace polder::decide {

void GateFlags(const RoundContext& ctx, const ProposalRecord& p, Explanation* e) {
  const int proposer = ctx.index.Of(p.author);
  const std::int64_t flags_until = std::min(ctx.cutoff, p.deadline_ms);
  for (const auto& f : p.flags) {
    const int flagger = ctx.index.Of(f.flagger);
    if (f.timestamp_ms > flags_until ||
        !ctx.view.Covers(ctx.index.LogOf(flagger, f.device), f.seq)) {
      continue;
    }
    FlagNote n;
    n.flag = f.event;
    n.flagger = f.flagger;
    n.severity = f.severity;
    n.blocking_severity = f.severity >= ctx.rules.blocking_severity;
    // Only an eligible, unforked member's flag counts (a key admitted once, short of the quorum,
    // or a member who equivocated, blocks nothing).
    if (!ctx.Eligible(flagger) || ctx.Forked(flagger)) {
      n.state = ctx.Eligible(flagger) ? FlagState::kFlaggerForked : FlagState::kFlaggerNotEligible;
      e->flags.push_back(std::move(n));
      continue;
    }
    bool withdrawn = false;
    std::optional<std::int64_t> answer_ms;  // resolutions are sorted by time: the first answer
    std::set<int> overrides;                // a member who overrides twice counts once
    for (const auto& r : f.resolutions) {
      const int who = ctx.index.Of(r.author);
      if (r.timestamp_ms > ctx.cutoff || !ctx.view.Covers(ctx.index.LogOf(who, r.device), r.seq)) {
        continue;
      }
      // Fold keeps only resolutions their author may make (a withdrawal by the flagger, an
      // answer by the proposer), so the kind alone says what a resolution does.
      if (r.kind == v1::FlagResolution::WITHDRAW) withdrawn = true;
      if (r.kind == v1::FlagResolution::ANSWER && !answer_ms) answer_ms = r.timestamp_ms;
      if (r.kind == v1::FlagResolution::OVERRIDE && ctx.Eligible(who) && !ctx.Forked(who)) {
        overrides.insert(who);
      }
    }
    mpq_class override_weight;
    for (int i : overrides) {
      n.overrides.push_back(ctx.st.members[static_cast<std::size_t>(i)].key);
      override_weight += ctx.Weight(i);
    }
    const mpq_class total = ctx.TotalWeight();
    n.override_weight = ToFraction(override_weight);
    n.total_weight = ToFraction(total);
    const bool overridden = !overrides.empty() && override_weight * kBpsWhole >=
                                                      mpq_class(ctx.rules.override_bps) * total;
    n.answered = answer_ms.has_value();
    if (answer_ms) {
      // Acceptances: endorsements after the first answer by eligible, unforked members other
      // than the proposer and the flagger.
      std::set<MemberKey> accepted;
      for (const auto& en : p.endorsements) {
        const int who = ctx.index.Of(en.member);
        if (!ctx.Eligible(who) || ctx.Forked(who) || who == proposer || who == flagger) continue;
        if (en.timestamp_ms > *answer_ms && en.timestamp_ms <= ctx.cutoff &&
            ctx.view.Covers(ctx.index.LogOf(who, en.device), en.seq)) {
          accepted.insert(en.member);
        }
      }
      n.acceptances.assign(accepted.begin(), accepted.end());
    }
    n.state = withdrawn    ? FlagState::kWithdrawn
              : overridden ? FlagState::kOverridden
              : n.answered && n.acceptances.size() >= ctx.rules.mitigation_acceptances
                  ? FlagState::kMitigated
                  : FlagState::kOpen;
    if (n.state == FlagState::kOpen && n.blocking_severity) e->blocked = true;
    e->flags.push_back(std::move(n));
  }
}

const FlagRecord* LateBlockingFlag(const RoundContext& ctx, const ProposalRecord& p) {
  if (p.flags.empty() || !ctx.closed || ctx.cutoff != p.deadline_ms) return nullptr;
  const int author = ctx.index.Of(p.author);
  if (p.withdrawn_ms && *p.withdrawn_ms <= ctx.cutoff &&
      ctx.view.Covers(ctx.index.LogOf(author, p.withdrawn_device), p.withdrawn_seq)) {
    return nullptr;  // withdrawn: nothing to decide
  }
  Explanation e;
  GateFlags(ctx, p, &e);
  if (!e.blocked) return nullptr;
  const std::int64_t window_from = p.deadline_ms - ctx.rules.late_flag_window_ms;
  for (const FlagNote& n : e.flags) {
    if (n.state != FlagState::kOpen || !n.blocking_severity) continue;
    for (const auto& f : p.flags) {
      if (f.event == n.flag && f.timestamp_ms > window_from) return &f;
    }
  }
  return nullptr;
}

}  // namespace polder::decide
