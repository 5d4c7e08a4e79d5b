#include "node/decide/allocate.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <utility>

#include <gmpxx.h>

#include "node/decide/limits.h"
#include "node/decide/rational.h"

namespace polder::decide {
namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

bool IsWholeNumber(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Sign(int c) { return (c > 0) - (c < 0); }

std::vector<std::uint64_t> ApprovalCounts(const PbInstance& in) {
  std::vector<std::uint64_t> counts(in.projects.size(), 0);
  for (const auto& ballot : in.approvals) {
    for (std::uint32_t p : ballot) ++counts[p];
  }
  return counts;
}

// Projects with at least one approval, in greedy order: more approvals, lower cost, smaller id.
std::vector<std::uint32_t> GreedyOrder(const PbInstance& in,
                                       const std::vector<std::uint64_t>& approvals) {
  std::vector<std::uint32_t> order;
  for (std::uint32_t p = 0; p < in.projects.size(); ++p) {
    if (approvals[p] > 0) order.push_back(p);
  }
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (approvals[a] != approvals[b]) return approvals[a] > approvals[b];
    if (in.projects[a].cost != in.projects[b].cost) {
      return in.projects[a].cost < in.projects[b].cost;
    }
    return CompareIds(in.projects[a].id, in.projects[b].id) < 0;
  });
  return order;
}

// Funds, in greedy order, every approved project not yet funded that fits what is left.
void SpendGreedily(const PbInstance& in, const std::vector<std::uint64_t>& approvals, Step step,
                   AllocationResult& out) {
  std::vector<bool> funded(in.projects.size(), false);
  for (const auto& f : out.funded) funded[f.project] = true;
  Money left = in.budget - out.total_cost;
  for (std::uint32_t p : GreedyOrder(in, approvals)) {
    if (funded[p] || in.projects[p].cost > left) continue;
    left -= in.projects[p].cost;
    out.total_cost += in.projects[p].cost;
    Funded f;
    f.project = p;
    f.cost = in.projects[p].cost;
    f.approvals = approvals[p];
    f.step = step;
    out.funded.push_back(std::move(f));
  }
}

// ---- Method of Equal Shares -----------------------------------------------------------------
//
// Voters who approve the same funded projects have paid the same amounts, so they have the same
// money left. MES therefore works on classes of voters instead of voters: a class is a set of
// ballot types (distinct ballots) with one budget. Funding a project splits each class into its
// approvers (who paid) and the others. A project's price is found by sorting its approvers'
// classes by budget. Prices only rise as money is spent, so a price computed earlier is a lower
// bound, and it stays exact until one of the project's approvers pays for something.

// What every MES run on one instance shares.
struct MesModel {
  std::vector<std::uint32_t> candidates;   // local index → project index, in tie-break order
  std::vector<Money> cost;                 // per local index
  std::vector<mpz_class> utility;          // per local index: cost, or 1
  std::vector<std::uint64_t> approvals;    // per project index
  std::vector<std::uint64_t> type_weight;  // voters per ballot type
  std::vector<std::vector<std::uint32_t>> type_projects;  // ballot type → local indices
  std::vector<std::vector<std::uint32_t>> project_types;  // local index → ballot types
  std::vector<std::uint32_t> voter_type;                  // kNone: approves no candidate
};

MesModel BuildModel(const PbInstance& in, Utility utility) {
  MesModel m;
  m.approvals = ApprovalCounts(in);
  // Candidates: projects that give utility to someone. (A per-project "may fund" rule would be
  // applied here.)
  std::vector<std::uint32_t> cand;
  for (std::uint32_t p = 0; p < in.projects.size(); ++p) {
    const bool has_utility = utility == Utility::kApproval || in.projects[p].cost > Money(0);
    if (m.approvals[p] > 0 && has_utility) cand.push_back(p);
  }
  // Tie-break order: lower cost, more approvals, smaller id. Local index = position.
  std::sort(cand.begin(), cand.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (in.projects[a].cost != in.projects[b].cost) {
      return in.projects[a].cost < in.projects[b].cost;
    }
    if (m.approvals[a] != m.approvals[b]) return m.approvals[a] > m.approvals[b];
    return CompareIds(in.projects[a].id, in.projects[b].id) < 0;
  });
  m.candidates = cand;
  std::vector<std::uint32_t> local(in.projects.size(), kNone);
  for (std::uint32_t i = 0; i < cand.size(); ++i) {
    local[cand[i]] = i;
    m.cost.push_back(in.projects[cand[i]].cost);
    m.utility.emplace_back(utility == Utility::kCost ? mpz_class(in.projects[cand[i]].cost.minor())
                                                     : mpz_class(1));
  }
  // Ballot types: identical ballots (restricted to candidates) form one type.
  std::map<std::vector<std::uint32_t>, std::uint32_t> types;
  m.voter_type.assign(in.approvals.size(), kNone);
  std::vector<std::uint32_t> ballot;
  for (std::size_t v = 0; v < in.approvals.size(); ++v) {
    ballot.clear();
    for (std::uint32_t p : in.approvals[v]) {
      if (local[p] != kNone) ballot.push_back(local[p]);
    }
    if (ballot.empty()) continue;
    std::sort(ballot.begin(), ballot.end());
    auto [it, inserted] = types.try_emplace(ballot, static_cast<std::uint32_t>(types.size()));
    if (inserted) {
      m.type_weight.push_back(0);
      m.type_projects.push_back(ballot);
    }
    ++m.type_weight[it->second];
    m.voter_type[v] = it->second;
  }
  m.project_types.resize(cand.size());
  for (std::uint32_t t = 0; t < m.type_projects.size(); ++t) {
    for (std::uint32_t c : m.type_projects[t]) m.project_types[c].push_back(t);
  }
  return m;
}

struct MesRound {
  std::uint32_t candidate = 0;                                // local index
  mpq_class price;                                            // ρ
  std::vector<std::pair<mpq_class, std::uint64_t>> payments;  // (each, voters)
};

// One run of MES with a given starting budget per voter.
class MesRun {
 public:
  MesRun(const MesModel& model, const mpq_class& start) : m_(model), start_(start) {}

  void Run();

  Money total_cost() const { return total_cost_; }
  const std::vector<MesRound>& rounds() const { return rounds_; }
  const mpq_class& start() const { return start_; }
  // Money left to voter `v` when the run stopped.
  const mpq_class& Left(std::size_t v) const {
    const std::uint32_t t = m_.voter_type[v];
    return t == kNone ? start_ : budget_[type_class_[t]];
  }

 private:
  static constexpr std::uint32_t kBroke = 0;  // the class of voters with no money left

  struct ClassCount {
    std::uint32_t cls;
    std::uint64_t voters;
  };
  struct Candidate {
    bool active = true;
    bool exact = false;  // price is exact; otherwise a lower bound
    mpq_class price;     // ρ
    mpq_class share;     // what each approver with enough money pays: ρ × utility
  };

  bool Evaluate(std::uint32_t c);  // computes the exact price; false if unaffordable
  void Fund(std::uint32_t c);
  static void Add(std::vector<ClassCount>& v, std::uint32_t cls, std::uint64_t n);
  static void Remove(std::vector<ClassCount>& v, std::uint32_t cls, std::uint64_t n);

  const MesModel& m_;
  mpq_class start_;
  std::vector<mpq_class> budget_;                  // per class
  std::vector<std::uint64_t> class_size_;          // voters per class
  std::vector<std::uint32_t> type_class_;          // per ballot type
  std::vector<std::vector<ClassCount>> by_class_;  // per candidate: its approvers per class
  std::vector<Candidate> cand_;
  std::vector<MesRound> rounds_;
  Money total_cost_;
  // Scratch space, reused.
  std::vector<const ClassCount*> sorted_;
  std::vector<std::uint32_t> target_;           // per class: where Fund() moves it
  std::vector<std::vector<ClassCount>> moved_;  // per candidate: voters leaving each class
  std::vector<std::uint32_t> touched_;          // candidates with moves
  mpq_class rem_, tmp_;
};

void MesRun::Add(std::vector<ClassCount>& v, std::uint32_t cls, std::uint64_t n) {
  for (auto& e : v) {
    if (e.cls == cls) {
      e.voters += n;
      return;
    }
  }
  v.push_back({cls, n});
}

void MesRun::Remove(std::vector<ClassCount>& v, std::uint32_t cls, std::uint64_t n) {
  for (auto& e : v) {
    if (e.cls == cls) {
      e.voters -= n;
      if (e.voters == 0) {
        e = v.back();
        v.pop_back();
      }
      return;
    }
  }
  assert(false && "class not found");
}

bool MesRun::Evaluate(std::uint32_t c) {
  Candidate& cd = cand_[c];
  // Approvers' classes by increasing money; those who cannot pay an equal share of what is
  // still missing pay everything they have.
  sorted_.clear();
  std::uint64_t m = 0;
  for (const auto& e : by_class_[c]) {
    sorted_.push_back(&e);
    m += e.voters;
  }
  std::sort(sorted_.begin(), sorted_.end(), [&](const ClassCount* a, const ClassCount* b) {
    return budget_[a->cls] < budget_[b->cls];
  });
  rem_ = m_.cost[c].minor();
  bool found = rem_ == 0;  // a free project (approval utilities) costs nobody anything
  for (const ClassCount* e : sorted_) {
    if (found) break;
    tmp_ = budget_[e->cls];
    tmp_ *= m;
    if (tmp_ >= rem_) {
      found = true;
      break;
    }
    tmp_ = budget_[e->cls];
    tmp_ *= e->voters;
    rem_ -= tmp_;
    m -= e->voters;
  }
  if (!found) return false;
  if (m_.cost[c] == Money(0)) {
    cd.share = 0;
  } else {
    cd.share = rem_;
    cd.share /= m;
  }
  cd.price = cd.share;
  cd.price /= m_.utility[c];
  cd.exact = true;
  return true;
}

void MesRun::Fund(std::uint32_t c) {
  Candidate& cd = cand_[c];
  cd.active = false;
  total_cost_ += m_.cost[c];
  MesRound round;
  round.candidate = c;
  round.price = cd.price;
  // Where each paying class goes: it keeps its id if all its voters approve c (the budget
  // changes in place); otherwise c's approvers in it move to a new class. Those who paid all
  // they had go to kBroke.
  target_.resize(budget_.size(), kNone);
  for (const auto& e : by_class_[c]) {
    mpq_class& b = budget_[e.cls];
    if (b <= cd.share) {
      round.payments.emplace_back(b, e.voters);
      target_[e.cls] = kBroke;
      continue;
    }
    round.payments.emplace_back(cd.share, e.voters);
    if (e.voters == class_size_[e.cls]) {
      b -= cd.share;
      target_[e.cls] = e.cls;
    } else {
      target_[e.cls] = static_cast<std::uint32_t>(budget_.size());
      budget_.push_back(b - cd.share);
      class_size_.push_back(0);
    }
  }
  // Move c's approvers, adding up per (project, class) what moves, so each project's class list
  // is updated once per class rather than once per ballot type.
  touched_.clear();
  for (std::uint32_t t : m_.project_types[c]) {
    const std::uint32_t from = type_class_[t];
    if (from == kBroke) continue;
    const std::uint32_t to = target_[from];
    // Every project this ballot approves now has approvers with less money: its price may rise.
    for (std::uint32_t p : m_.type_projects[t]) cand_[p].exact = false;
    if (to == from) continue;
    const std::uint64_t w = m_.type_weight[t];
    type_class_[t] = to;
    class_size_[from] -= w;
    class_size_[to] += w;
    for (std::uint32_t p : m_.type_projects[t]) {
      if (!cand_[p].active) continue;
      if (moved_[p].empty()) touched_.push_back(p);
      Add(moved_[p], from, w);
    }
  }
  for (std::uint32_t p : touched_) {
    for (const auto& mv : moved_[p]) {
      Remove(by_class_[p], mv.cls, mv.voters);
      if (target_[mv.cls] != kBroke) Add(by_class_[p], target_[mv.cls], mv.voters);
    }
    moved_[p].clear();
  }
  for (const auto& e : by_class_[c]) target_[e.cls] = kNone;
  rounds_.push_back(std::move(round));
}

void MesRun::Run() {
  const std::size_t n = m_.candidates.size();
  budget_.assign(2, mpq_class(0));
  budget_[1] = start_;
  class_size_ = {0,
                 std::accumulate(m_.type_weight.begin(), m_.type_weight.end(), std::uint64_t{0})};
  type_class_.assign(m_.type_weight.size(), start_ > 0 ? 1 : kBroke);
  by_class_.assign(n, {});
  moved_.assign(n, {});
  cand_.assign(n, Candidate{});
  if (start_ > 0) {
    for (std::uint32_t c = 0; c < n; ++c)
      by_class_[c].push_back({1, m_.approvals[m_.candidates[c]]});
  }
  std::vector<std::uint32_t> stale;
  for (;;) {
    // The best among exact prices; ties go to the smaller local index (the tie-break order).
    std::uint32_t best = kNone;
    stale.clear();
    for (std::uint32_t c = 0; c < n; ++c) {
      if (!cand_[c].active) continue;
      if (!cand_[c].exact) {
        stale.push_back(c);
      } else if (best == kNone || cand_[c].price < cand_[best].price) {
        best = c;
      }
    }
    // Then the projects whose price may have risen, cheapest lower bound first, until no lower
    // bound can beat the best.
    std::sort(stale.begin(), stale.end(), [&](std::uint32_t a, std::uint32_t b) {
      const int order = cmp(cand_[a].price, cand_[b].price);
      return order != 0 ? order < 0 : a < b;
    });
    for (std::uint32_t c : stale) {
      if (best != kNone) {
        const int order = cmp(cand_[c].price, cand_[best].price);
        if (order > 0 || (order == 0 && c > best)) break;
      }
      if (!Evaluate(c)) {
        cand_[c].active = false;  // money only decreases: never affordable again
        continue;
      }
      const int order = best == kNone ? -1 : cmp(cand_[c].price, cand_[best].price);
      if (order < 0 || (order == 0 && c < best)) best = c;
    }
    if (best == kNone) break;
    Fund(best);
  }
}

}  // namespace

int CompareIds(std::string_view a, std::string_view b) {
  const bool na = IsWholeNumber(a), nb = IsWholeNumber(b);
  if (na != nb) return na ? -1 : 1;
  if (na) {
    const auto sa = a.substr(std::min(a.find_first_not_of('0'), a.size()));
    const auto sb = b.substr(std::min(b.find_first_not_of('0'), b.size()));
    if (sa.size() != sb.size()) return sa.size() < sb.size() ? -1 : 1;
    if (const int c = sa.compare(sb); c != 0) return Sign(c);
  }
  return Sign(a.compare(b));  // equal numbers written differently ("07", "7"): as strings
}

std::string Fraction::ToString() const { return den == "1" ? num : num + "/" + den; }

const char* ToString(Step step) {
  switch (step) {
    case Step::kGreedy: return "greedy";
    case Step::kMes: return "mes";
    case Step::kCompletion: return "completion";
  }
  return "?";
}
const char* ToString(Utility u) { return u == Utility::kCost ? "cost" : "approval"; }
const char* ToString(Completion c) { return c == Completion::kNone ? "none" : "add1"; }

Status Validate(const PbInstance& in) {
  if (in.budget < Money(0) || in.budget > Money(kMaxAmountMinor)) {
    return Fail(Errc::kLimit, "budget " + std::to_string(in.budget.minor()) + " is outside 0.." +
                                  std::to_string(kMaxAmountMinor) + " minor units");
  }
  if (in.unit < Money(1) || in.unit > Money(kMaxAmountMinor)) {
    return Fail(Errc::kInvalidArgument, "currency unit must be at least one minor unit");
  }
  if (in.projects.size() > kMaxProjects) {
    return Fail(Errc::kLimit, std::to_string(in.projects.size()) + " projects; at most " +
                                  std::to_string(kMaxProjects) + " are allowed");
  }
  if (in.approvals.size() > kMaxVoters) {
    return Fail(Errc::kLimit, std::to_string(in.approvals.size()) + " voters; at most " +
                                  std::to_string(kMaxVoters) + " are allowed");
  }
  std::vector<std::string_view> ids;
  for (const auto& p : in.projects) {
    if (p.id.empty()) return Fail(Errc::kInvalidArgument, "a project has an empty id");
    if (p.cost < Money(0) || p.cost > Money(kMaxAmountMinor)) {
      return Fail(Errc::kLimit, "project " + p.id + " costs " + std::to_string(p.cost.minor()) +
                                    " minor units, outside 0.." + std::to_string(kMaxAmountMinor));
    }
    ids.push_back(p.id);
  }
  std::sort(ids.begin(), ids.end());
  if (auto d = std::adjacent_find(ids.begin(), ids.end()); d != ids.end()) {
    return Fail(Errc::kInvalidArgument, "project id " + std::string(*d) + " is not unique");
  }
  std::vector<std::size_t> seen(in.projects.size(), 0);  // last voter (+1) who approved it
  for (std::size_t v = 0; v < in.approvals.size(); ++v) {
    for (std::uint32_t p : in.approvals[v]) {
      if (p >= in.projects.size()) {
        return Fail(Errc::kInvalidArgument, "voter " + std::to_string(v) +
                                                " approves project index " + std::to_string(p) +
                                                " of " + std::to_string(in.projects.size()));
      }
      if (seen[p] == v + 1) {
        return Fail(Errc::kInvalidArgument, "voter " + std::to_string(v) + " approves project " +
                                                in.projects[p].id + " twice");
      }
      seen[p] = v + 1;
    }
  }
  return {};
}

Result<AllocationResult> Greedy(const PbInstance& in) {
  if (auto s = Validate(in); !s) return MakeUnexpected(s.error());
  AllocationResult out;
  SpendGreedily(in, ApprovalCounts(in), Step::kGreedy, out);
  return out;
}

Result<AllocationResult> Mes(const PbInstance& in, const MesOptions& options) {
  if (auto s = Validate(in); !s) return MakeUnexpected(s.error());
  AllocationResult out;
  const MesModel model = BuildModel(in, options.utility);
  if (in.approvals.empty()) return out;  // no voters: nobody to buy anything
  mpq_class base(in.budget.minor());
  base /= static_cast<unsigned long>(in.approvals.size());
  auto run = std::make_unique<MesRun>(model, base);
  run->Run();
  out.mes_runs = 1;
  if (options.completion == Completion::kAdd1) {
    for (std::uint32_t raise = 1;; ++raise) {
      if (run->rounds().size() == model.candidates.size()) break;  // nothing left to gain
      if (raise > kMaxAdd1Rounds) {
        out.add1_capped = true;
        break;
      }
      mpq_class start = base;
      start += mpz_class(in.unit.minor()) * raise;
      auto next = std::make_unique<MesRun>(model, start);
      next->Run();
      ++out.mes_runs;
      if (next->total_cost() > in.budget) break;
      run = std::move(next);
      out.add1_raise = raise;
    }
  }
  out.voter_budget = ToFraction(run->start());
  for (const auto& r : run->rounds()) {
    Funded f;
    f.project = model.candidates[r.candidate];
    f.cost = in.projects[f.project].cost;
    f.approvals = model.approvals[f.project];
    f.step = Step::kMes;
    f.price = ToFraction(r.price);
    // Merge equal payments; list them from the largest.
    std::vector<std::pair<mpq_class, std::uint64_t>> pays = r.payments;
    std::sort(pays.begin(), pays.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = 0; i < pays.size(); ++i) {
      if (!f.payers.empty() && i > 0 && pays[i].first == pays[i - 1].first) {
        f.payers.back().voters += pays[i].second;
      } else {
        f.payers.push_back({pays[i].second, ToFraction(pays[i].first)});
      }
    }
    out.total_cost += f.cost;
    out.funded.push_back(std::move(f));
  }
  out.voter_left.reserve(in.approvals.size());
  std::map<const mpq_class*, Fraction> memo;  // voters of one class share one budget
  for (std::size_t v = 0; v < in.approvals.size(); ++v) {
    const mpq_class& left = run->Left(v);
    auto it = memo.find(&left);
    if (it == memo.end()) it = memo.emplace(&left, ToFraction(left)).first;
    out.voter_left.push_back(it->second);
  }
  if (options.completion == Completion::kAdd1) {
    SpendGreedily(in, model.approvals, Step::kCompletion, out);
  }
  return out;
}

}  // namespace polder::decide
