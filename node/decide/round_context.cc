#include "node/decide/round_context.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace polder::decide {
namespace {

// Who is eligible at the cut-off: the founder once the charter is in, anyone else once
// admission_quorum distinct eligible members (or all of them, when there are fewer) admitted
// them. Admissions count in (timestamp, id) order, so someone admitted by a newcomer counts only
// after the newcomer does.
void Eligibility(RoundContext& c) {
  const std::size_t n = c.st.members.size();
  c.eligible.assign(n, 0);
  struct Adm {
    std::int64_t ts;
    const EventId* id;
    int admitter;
    int member;
  };
  std::vector<Adm> adms;
  for (std::size_t i = 0; i < n; ++i) {
    const Member& m = c.st.members[i];
    if (m.founder) {
      if (m.admitted_ms <= c.cutoff) c.eligible[i] = 1;
      continue;
    }
    for (const auto& a : m.admissions) {
      const int who = c.index.Of(a.admitter);
      if (a.timestamp_ms <= c.cutoff && c.view.Covers(c.index.LogOf(who, a.device), a.seq)) {
        adms.push_back({a.timestamp_ms, &a.event, who, static_cast<int>(i)});
      }
    }
  }
  std::sort(adms.begin(), adms.end(), [](const Adm& a, const Adm& b) {
    return std::tie(a.ts, *a.id) < std::tie(b.ts, *b.id);
  });
  std::uint32_t full = 0;
  for (auto e : c.eligible) full += e ? 1 : 0;
  std::map<int, std::set<int>> admitters;
  for (const auto& a : adms) {
    if (c.eligible[static_cast<std::size_t>(a.member)] || !c.Eligible(a.admitter)) continue;
    auto& who = admitters[a.member];
    who.insert(a.admitter);
    if (who.size() >= std::min<std::uint32_t>(c.rules.admission_quorum, std::max(full, 1u))) {
      c.eligible[static_cast<std::size_t>(a.member)] = 1;
      ++full;
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

void RoundContext::Prepare() {
  Eligibility(*this);
  Organisations(*this);
  delegations = DelegationsAt(st, index, cutoff, view);
}

}  // namespace polder::decide
