#include "node/decide/round_context.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

namespace polder::decide {
namespace {

// Who is eligible at the cut-off (tally.h "Who counts"): the founder once the charter is in;
// anyone else admitted into a listed organisation by eligible members — of admission_organisations
// distinct organisations and at least admission_quorum of them, or every eligible member while
// fewer organisations than that have one. Admissions count in (timestamp, signing key, seq)
// order, so someone admitted by a newcomer counts only after the newcomer does.
void Eligibility(RoundContext& c, std::vector<std::string>* why_not) {
  const std::size_t n = c.st.members.size();
  c.eligible.assign(n, 0);
  struct Adm {
    std::int64_t ts;
    const MemberKey* log;  // the signing key: the admitter's own, or their device's
    std::uint64_t seq;
    int admitter;
    int member;
  };
  std::vector<Adm> adms;
  std::map<std::string_view, std::uint32_t> orgs;  // eligible members per organisation
  std::uint32_t full = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Member& m = c.st.members[i];
    if (m.founder) {
      if (m.admitted_ms <= c.cutoff) {
        c.eligible[i] = 1;
        ++orgs[m.organisation];
        ++full;
      }
      continue;
    }
    for (const auto& a : m.admissions) {
      const int who = c.index.Of(a.admitter);
      if (a.timestamp_ms <= c.cutoff && c.view.Covers(c.index.LogOf(who, a.device), a.seq)) {
        adms.push_back(
            {a.timestamp_ms, a.device ? &*a.device : &a.admitter, a.seq, who, static_cast<int>(i)});
      }
    }
  }
  // By timestamp, then signing log and seq: one log's admissions count in its own order (its
  // timestamps never decrease), so an admitter cannot place an admission before one they signed
  // earlier by giving it the same timestamp.
  std::sort(adms.begin(), adms.end(), [](const Adm& a, const Adm& b) {
    return std::tie(a.ts, *a.log, a.seq) < std::tie(b.ts, *b.log, b.seq);
  });
  const auto org_of = [&](int i) -> const std::string& {
    return c.st.members[static_cast<std::size_t>(i)].organisation;
  };
  const auto organisations_of = [&](const std::set<int>& who) {
    std::set<std::string_view> from;
    for (int a : who) from.insert(org_of(a));
    return from.size();
  };
  std::map<int, std::set<int>> admitters;
  const auto admitted = [&](const std::set<int>& who) {
    if (orgs.size() < c.rules.admission_organisations) return who.size() >= full;
    return organisations_of(who) >= c.rules.admission_organisations &&
           who.size() >= std::min(c.rules.admission_quorum, full);
  };
  for (const auto& a : adms) {
    const auto m = static_cast<std::size_t>(a.member);
    if (c.eligible[m] || !c.Eligible(a.admitter) || !Listed(c.rules, org_of(a.member))) continue;
    auto& who = admitters[a.member];
    who.insert(a.admitter);
    if (admitted(who)) {
      c.eligible[m] = 1;
      ++orgs[org_of(a.member)];
      ++full;
    }
  }
  if (!why_not) return;
  why_not->assign(n, {});
  for (std::size_t i = 0; i < n; ++i) {
    if (c.eligible[i]) continue;
    const Member& m = c.st.members[i];
    auto& why = (*why_not)[i];
    if (!Listed(c.rules, m.organisation)) {
      why = "organisation \"" + m.organisation + "\" is not one of the circle's";
      continue;
    }
    const auto it = admitters.find(static_cast<int>(i));
    const std::set<int> none;
    const std::set<int>& who = it == admitters.end() ? none : it->second;
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
