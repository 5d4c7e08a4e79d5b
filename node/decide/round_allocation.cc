#include "node/decide/round_allocation.h"

#include <algorithm>
#include <tuple>

#include "node/decide/limits.h"
#include "node/decide/round_context.h"

namespace polder::decide {

// 128-bit products: pools and amounts up to kMaxAmountMinor times 10000 do not fit 64 bits.
Money Share(Money pool, std::uint32_t bps) {
  if (pool <= Money(0)) return Money(0);
  return Money(static_cast<std::int64_t>(static_cast<__int128>(pool.minor()) * bps / kBpsWhole));
}

bool Over(Money amount, Money pool, std::uint32_t bps) {
  return static_cast<__int128>(amount.minor()) * kBpsWhole >
         static_cast<__int128>(bps) * pool.minor();
}

void ResetAllocation(std::vector<ProposalOutcome>& outcomes) {
  for (auto& o : outcomes) {
    auto& a = o.explanation.allocation;
    a.considered = false;
    a.pool_left_before = Money(0);
    a.org_spent_before = Money(0);
    if (o.status == Status::kFunded) o.status = Status::kNotFunded;
    if (o.reason == Reason::kOverProposalCap || o.reason == Reason::kOrgCapReached ||
        o.reason == Reason::kBudgetExhausted || o.reason == Reason::kNotSelected) {
      o.reason = Reason::kNone;
    }
  }
}

void Allocate(const RoundContext& ctx, const std::vector<mpq_class>& for_weight, RoundRun& run) {
  const CircleState& st = ctx.st;
  const Rules& rules = ctx.rules;
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < run.outcomes.size(); ++i) {
    const auto& o = run.outcomes[i];
    if (o.status == Status::kNotFunded && o.reason == Reason::kNone) candidates.push_back(i);
  }
  auto consider = [&](ProposalOutcome& o) {
    o.explanation.allocation.considered = true;
    o.explanation.allocation.pool_left_before = run.left;
    o.explanation.allocation.org_spent_before = run.org_spent[o.organisation];
  };
  // The caps are shares of the whole pool, not of what is left: an organisation's share holds
  // over all rounds.
  auto over_org = [&](const ProposalOutcome& o) {
    return Over(run.org_spent[o.organisation] + o.amount_minor, st.pool_minor,
                rules.max_share_per_org_bps);
  };
  auto fund = [&](ProposalOutcome& o) {
    o.status = Status::kFunded;
    run.left -= o.amount_minor;
    run.org_spent[o.organisation] += o.amount_minor;
  };

  std::vector<std::size_t> within_cap;
  for (auto i : candidates) {
    auto& o = run.outcomes[i];
    if (Over(o.amount_minor, st.pool_minor, rules.max_share_per_proposal_bps)) {
      consider(o);
      o.reason = Reason::kOverProposalCap;
    } else {
      within_cap.push_back(i);
    }
  }

  if (rules.allocation == v1::DecisionRules::EQUAL_SHARES) {
    // One ballot per member who voted for a candidate (directly or through a delegate), costs as
    // utilities, add1 completion; then the organisation cap in MES's funding order.
    PbInstance in;
    in.budget = std::max(run.left, Money(0));
    std::int64_t unit = 1;  // add1 raises the voters' budgets one whole currency unit at a time
    for (std::uint32_t d = 0; d < std::min(st.decimals, kMaxDecimals); ++d) unit *= 10;
    in.unit = Money(unit);
    std::map<MemberKey, std::vector<std::uint32_t>> ballots;
    for (std::uint32_t j = 0; j < within_cap.size(); ++j) {
      const auto& o = run.outcomes[within_cap[j]];
      in.projects.push_back({o.proposal.hex(), o.amount_minor});
      for (const auto& v : o.explanation.votes) {
        if (v.choice == v1::FOR) ballots[v.member].push_back(j);
      }
    }
    for (auto& [k, b] : ballots) in.approvals.push_back(std::move(b));
    std::vector<bool> taken(within_cap.size(), false);
    if (!within_cap.empty()) {
      auto mes = Mes(in, MesOptions{Utility::kCost, Completion::kAdd1});
      if (!mes) run.allocation_error = mes.error().message;
      if (mes) {
        for (const auto& f : mes->funded) {
          auto& o = run.outcomes[within_cap[f.project]];
          taken[f.project] = true;
          consider(o);
          if (over_org(o)) {
            o.reason = Reason::kOrgCapReached;  // the money stays unspent
          } else {
            fund(o);
          }
        }
      }
    }
    for (std::uint32_t j = 0; j < within_cap.size(); ++j) {
      if (taken[j]) continue;
      auto& o = run.outcomes[within_cap[j]];
      consider(o);
      o.reason = Reason::kNotSelected;
    }
  } else {
    // Greedy: by for-weight (most first), then more for votes, lower amount, smaller id.
    std::sort(within_cap.begin(), within_cap.end(), [&](std::size_t a, std::size_t b) {
      const auto& pa = run.outcomes[a];
      const auto& pb = run.outcomes[b];
      if (for_weight[a] != for_weight[b]) return for_weight[a] > for_weight[b];
      if (pa.explanation.for_count != pb.explanation.for_count) {
        return pa.explanation.for_count > pb.explanation.for_count;
      }
      return std::tie(pa.amount_minor, pa.proposal) < std::tie(pb.amount_minor, pb.proposal);
    });
    for (auto i : within_cap) {
      auto& o = run.outcomes[i];
      consider(o);
      if (o.amount_minor > run.left) {
        o.reason = Reason::kBudgetExhausted;
      } else if (over_org(o)) {
        o.reason = Reason::kOrgCapReached;
      } else {
        fund(o);
      }
    }
  }
}

}  // namespace polder::decide
