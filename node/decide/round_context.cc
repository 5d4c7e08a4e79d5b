#include "node/decide/round_context.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

namespace polder::decide {
namespace {

// Who is eligible at the cut-off (tally.h "Who counts"): the founder and the founding partners
// once the charter is in; anyone else admitted into a listed organisation by eligible members — of
// admission_organisations distinct organisations and at least admission_quorum of them, or every
// eligible member while fewer organisations than that have one — and not removed. Admissions and
// removals count in one (timestamp, signing key, seq) order, each only while its signer is
// eligible, so someone admitted by a newcomer counts only after the newcomer does, and a removed
// member's later acts count for nothing. A member is removed once the eligible members who signed a
// removal of them reach removal_bps of the other eligible members, and at least kMinRemovers; a
// removed key is never eligible again.
void Eligibility(RoundContext& c, std::vector<std::string>* why_not) {
  const std::size_t n = c.st.members.size();
  c.eligible.assign(n, 0);
  c.removed.assign(n, 0);
  c.removed_at.assign(n, 0);
  struct Act {
    std::int64_t ts;
    const MemberKey* log;  // the signing key: the actor's own, or their device's
    std::uint64_t seq;
    int actor;
    int member;
    bool removal;
  };
  std::vector<Act> acts;
  std::map<std::string_view, std::uint32_t> orgs;  // eligible members per organisation
  std::uint32_t full = 0;
  const auto org_of = [&](int i) -> const std::string& {
    return c.st.members[static_cast<std::size_t>(i)].organisation;
  };
  const auto join = [&](std::size_t i) {
    c.eligible[i] = 1;
    ++orgs[org_of(static_cast<int>(i))];
    ++full;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const Member& m = c.st.members[i];
    if (m.founder || m.partner) {
      if (m.admitted_ms <= c.cutoff) join(i);
      continue;
    }
    for (const auto& a : m.admissions) {
      const int who = c.index.Of(a.admitter);
      if (a.timestamp_ms <= c.cutoff &&
          c.MembershipView().Covers(c.index.LogOf(who, a.device), a.seq)) {
        acts.push_back({a.timestamp_ms, a.device ? &*a.device : &a.admitter, a.seq, who,
                        static_cast<int>(i), false});
      }
    }
  }
  for (const auto& r : c.st.removals) {
    const int who = c.index.Of(r.remover);
    const int target = c.index.Of(r.member);
    if (target >= 0 && r.timestamp_ms <= c.cutoff &&
        c.MembershipView().Covers(c.index.LogOf(who, r.device), r.seq)) {
      acts.push_back(
          {r.timestamp_ms, r.device ? &*r.device : &r.remover, r.seq, who, target, true});
    }
  }
  // By timestamp, then signing log and seq: one log's acts count in its own order (its timestamps
  // never decrease), so no one can place an act before one they signed earlier by giving it the
  // same timestamp.
  std::sort(acts.begin(), acts.end(), [](const Act& a, const Act& b) {
    return std::tie(a.ts, *a.log, a.seq) < std::tie(b.ts, *b.log, b.seq);
  });
  // Those in `who` who are eligible now (an admitter or remover removed since no longer counts).
  const auto live = [&](const std::set<int>& who, int except) {
    std::vector<int> out;
    for (int a : who) {
      if (a != except && c.Eligible(a)) out.push_back(a);
    }
    return out;
  };
  const auto organisations_of = [&](const std::vector<int>& who) {
    std::set<std::string_view> from;
    for (int a : who) from.insert(org_of(a));
    return from.size();
  };
  std::map<int, std::set<int>> admitters;
  std::map<int, std::set<int>> removers;
  const auto admitted = [&](const std::set<int>& all) {
    const auto who = live(all, -1);
    if (orgs.size() < c.rules.admission_organisations) return who.size() >= full;
    return organisations_of(who) >= c.rules.admission_organisations &&
           who.size() >= std::min(c.rules.admission_quorum, full);
  };
  const auto removal_reached = [&](int m) {
    const auto who = live(removers[m], m);
    const std::uint64_t others = full - (c.Eligible(m) ? 1 : 0);
    return who.size() >= kMinRemovers &&
           who.size() * std::uint64_t{kBpsWhole} >= std::uint64_t{c.rules.removal_bps} * others;
  };
  std::int64_t now = 0;  // the timestamp of the act being taken
  const auto remove = [&](int m) {
    const auto i = static_cast<std::size_t>(m);
    c.removed[i] = 1;
    c.removed_at[i] = now;
    if (!c.eligible[i]) return;
    c.eligible[i] = 0;
    if (--orgs[org_of(m)] == 0) orgs.erase(org_of(m));
    --full;
  };
  for (const auto& a : acts) {
    const auto m = static_cast<std::size_t>(a.member);
    if (c.removed[m] || !c.Eligible(a.actor)) continue;
    now = a.ts;
    if (a.removal) {
      removers[a.member].insert(a.actor);
      if (!removal_reached(a.member)) continue;
      remove(a.member);
      // With fewer members left, a removal waiting for more support may now have enough.
      for (bool more = true; more;) {
        more = false;
        for (const auto& [t, who] : removers) {
          if (!c.removed[static_cast<std::size_t>(t)] && removal_reached(t)) {
            remove(t);
            more = true;
          }
        }
      }
      continue;
    }
    if (c.eligible[m] || !Listed(c.rules, org_of(a.member))) continue;
    auto& who = admitters[a.member];
    who.insert(a.actor);
    if (admitted(who)) join(m);
  }
  if (!why_not) return;
  why_not->assign(n, {});
  for (std::size_t i = 0; i < n; ++i) {
    if (c.eligible[i]) continue;
    const Member& m = c.st.members[i];
    auto& why = (*why_not)[i];
    if (c.removed[i]) {
      why = "removed by " + std::to_string(removers[static_cast<int>(i)].size()) + " members";
      continue;
    }
    if (!Listed(c.rules, m.organisation)) {
      why = "organisation \"" + m.organisation + "\" is not one of the circle's";
      continue;
    }
    const auto it = admitters.find(static_cast<int>(i));
    const std::set<int> none;
    const std::vector<int> who = live(it == admitters.end() ? none : it->second, -1);
    if (orgs.size() < c.rules.admission_organisations) {
      why = "admitted by " + std::to_string(who.size()) + " of the " + std::to_string(full) +
            " eligible members; every one must admit while fewer than " +
            std::to_string(c.rules.admission_organisations) + " organisations have a member";
      continue;
    }
    const std::size_t from = organisations_of(who);
    why = "admitted by eligible members of " + std::to_string(from) + " organisation" +
          (from == 1 ? "" : "s") + "; " + std::to_string(c.rules.admission_organisations) +
          " needed";
    if (c.rules.admission_quorum > 1) {
      why += ", and " + std::to_string(std::min(c.rules.admission_quorum, full)) + " members";
    }
  }
}

// Organisations (every name a member carries, sorted) and their eligible members; under
// ORGANISATION_BALANCED each member weighs 1 / (eligible members of their organisation).
void Organisations(RoundContext& c) {
  const std::size_t n = c.st.members.size();
  std::map<std::string, std::uint32_t> sizes;
  for (std::size_t i = 0; i < n; ++i) {
    sizes[c.st.members[i].organisation] += c.eligible[i] ? 1 : 0;
  }
  c.orgs.clear();
  c.org_size.clear();
  for (const auto& [name, count] : sizes) {
    c.orgs.push_back(name);
    c.org_size.push_back(count);
    c.n_orgs += count > 0 ? 1 : 0;
    c.n_eligible += count;
  }
  c.org_of.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    c.org_of[i] = static_cast<int>(
        std::lower_bound(c.orgs.begin(), c.orgs.end(), c.st.members[i].organisation) -
        c.orgs.begin());
  }
  c.org_weight.clear();
  for (auto count : c.org_size) {
    c.org_weight.push_back(c.Balanced() && count > 0 ? Fraction{"1", std::to_string(count)}
                                                     : Fraction{"1", "1"});
  }
}

}  // namespace

void RoundContext::Prepare(std::vector<std::string>* why_not) {
  Eligibility(*this, why_not);
  Organisations(*this);
  delegations = DelegationsAt(st, index, cutoff, view);
}

}  // namespace polder::decide
