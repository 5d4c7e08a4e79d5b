// Greedy approval and the Method of Equal Shares: the official outcomes of real elections, the
// published outcomes of small worked examples, and the methods' defining properties checked
// step by step with exact per-voter arithmetic independent of the implementation's classes.
#include "node/decide/allocate.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <tuple>

#include <gmpxx.h>
#include <gtest/gtest.h>

#include "node/decide/limits.h"
#include "node/decide/pabulib.h"
#include "tests/decide/pb_testutil.h"

namespace polder::decide {
namespace {

using testing::ExamplesDir;
using testing::FundedIds;
using testing::LoadPb;
using testing::PabulibDir;
using testing::RealElections;
using Ids = std::vector<std::string>;

mpq_class Q(const Fraction& f) {
  mpq_class q(f.num + "/" + f.den);
  q.canonicalize();
  return q;
}

std::vector<std::uint64_t> Approvals(const PbInstance& in) {
  std::vector<std::uint64_t> a(in.projects.size(), 0);
  for (const auto& b : in.approvals)
    for (auto p : b) ++a[p];
  return a;
}

// Greedy's defining property, from `left` on: walking the approved projects by (approvals desc,
// cost, id), each one not funded before is funded exactly when it fits what is left.
void CheckGreedySteps(const PbInstance& in, const AllocationResult& r, std::size_t first,
                      Money left, Step step) {
  const auto appr = Approvals(in);
  std::vector<bool> before(in.projects.size(), false);
  for (std::size_t i = 0; i < first; ++i) before[r.funded[i].project] = true;
  std::vector<std::uint32_t> order;
  for (std::uint32_t p = 0; p < in.projects.size(); ++p)
    if (appr[p] > 0 && !before[p]) order.push_back(p);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) {
    return std::make_tuple(-static_cast<std::int64_t>(appr[a]), in.projects[a].cost) <
               std::make_tuple(-static_cast<std::int64_t>(appr[b]), in.projects[b].cost) ||
           (appr[a] == appr[b] && in.projects[a].cost == in.projects[b].cost &&
            CompareIds(in.projects[a].id, in.projects[b].id) < 0);
  });
  std::size_t next = first;
  for (auto p : order) {
    if (in.projects[p].cost <= left) {
      ASSERT_LT(next, r.funded.size()) << in.projects[p].id << " fits but is not funded";
      EXPECT_EQ(r.funded[next].project, p) << "step " << next;
      EXPECT_EQ(r.funded[next].step, step);
      EXPECT_EQ(r.funded[next].cost, in.projects[p].cost);
      EXPECT_EQ(r.funded[next].approvals, appr[p]);
      left -= in.projects[p].cost;
      ++next;
    }
    // else: it did not fit the remaining budget when considered, and it is not funded.
  }
  EXPECT_EQ(next, r.funded.size()) << "funded projects beyond greedy's";
}

void CheckBudget(const PbInstance& in, const AllocationResult& r) {
  Money sum;
  std::set<std::uint32_t> seen;
  for (const auto& f : r.funded) {
    EXPECT_TRUE(seen.insert(f.project).second) << "funded twice: " << in.projects[f.project].id;
    sum += f.cost;
  }
  EXPECT_EQ(sum, r.total_cost);
  EXPECT_LE(r.total_cost, in.budget);
}

// The exact price per unit of utility at which `approvers` (with `money`) can buy a project, by
// the definition: the smallest ρ with Σ min(money_i, ρ·u) = cost. False if they cannot.
bool NaivePrice(const std::vector<std::uint32_t>& approvers, const std::vector<mpq_class>& money,
                Money cost, const mpq_class& utility, mpq_class& rho) {
  std::vector<mpq_class> b;
  for (auto v : approvers) b.push_back(money[v]);
  std::sort(b.begin(), b.end());
  if (cost == Money(0)) {
    rho = 0;
    return true;
  }
  mpq_class rem = cost.minor();
  std::size_t m = b.size();
  for (const auto& x : b) {
    if (x * m >= rem) {
      rho = rem / m / utility;
      return true;
    }
    rem -= x;
    --m;
  }
  return false;
}

// Replays MES voter by voter: every round's project has the lowest price among all affordable
// ones (ties: lower cost, more approvals, smaller id); each approver pays min(money, ρ·u); the
// payments sum to the cost exactly; nobody's money goes below zero; at the end nothing left is
// affordable; the money left matches what Mes() reports. Then checks the completion, if any.
void CheckMes(const PbInstance& in, const MesOptions& opt, const AllocationResult& r) {
  CheckBudget(in, r);
  const std::size_t n = in.approvals.size();
  ASSERT_GT(n, 0u);
  const auto appr = Approvals(in);
  std::vector<std::vector<std::uint32_t>> approvers(in.projects.size());
  for (std::uint32_t v = 0; v < n; ++v)
    for (auto p : in.approvals[v]) approvers[p].push_back(v);
  auto utility = [&](std::uint32_t p) {
    return opt.utility == Utility::kCost ? mpq_class(in.projects[p].cost.minor()) : mpq_class(1);
  };
  auto has_utility = [&](std::uint32_t p) {
    return appr[p] > 0 && (opt.utility == Utility::kApproval || in.projects[p].cost > Money(0));
  };
  // Starting money: budget / n, plus the add1 raise.
  mpq_class start(in.budget.minor());
  start /= n;
  start += mpq_class(in.unit.minor()) * r.add1_raise;
  EXPECT_EQ(Q(r.voter_budget), start);
  if (opt.completion == Completion::kNone) {
    EXPECT_EQ(r.add1_raise, 0u);
    EXPECT_EQ(r.mes_runs, 1u);
  }
  std::vector<mpq_class> money(n, start);
  std::vector<bool> done(in.projects.size(), false);
  std::size_t i = 0;
  Money mes_cost;
  for (; i < r.funded.size() && r.funded[i].step == Step::kMes; ++i) {
    const Funded& f = r.funded[i];
    ASSERT_TRUE(has_utility(f.project));
    ASSERT_FALSE(done[f.project]);
    mpq_class rho;
    ASSERT_TRUE(NaivePrice(approvers[f.project], money, f.cost, utility(f.project), rho))
        << "round " << i << ": " << in.projects[f.project].id << " is not affordable";
    EXPECT_EQ(rho, Q(f.price)) << "round " << i;
    const auto key = [&](std::uint32_t p, const mpq_class& price) {
      return std::make_tuple(price, in.projects[p].cost, -static_cast<std::int64_t>(appr[p]));
    };
    for (std::uint32_t p = 0; p < in.projects.size(); ++p) {
      if (p == f.project || done[p] || !has_utility(p)) continue;
      mpq_class other;
      if (!NaivePrice(approvers[p], money, in.projects[p].cost, utility(p), other)) continue;
      const auto kf = key(f.project, rho), kp = key(p, other);
      EXPECT_TRUE(kf < kp ||
                  (kf == kp && CompareIds(in.projects[f.project].id, in.projects[p].id) < 0))
          << "round " << i << ": " << in.projects[p].id << " (price " << other.get_str()
          << ") beats " << in.projects[f.project].id << " (price " << rho.get_str() << ")";
    }
    const mpq_class share = rho * utility(f.project);
    mpq_class paid = 0;
    for (auto v : approvers[f.project]) {
      const mpq_class pay = money[v] < share ? mpq_class(money[v]) : share;
      money[v] -= pay;
      paid += pay;
      ASSERT_GE(money[v], 0) << "voter " << v << " paid more than they had";
    }
    EXPECT_EQ(paid, f.cost.minor()) << "round " << i << ": payments do not sum to the cost";
    mpq_class groups = 0;
    std::uint64_t payers = 0;
    for (const auto& g : f.payers) {
      groups += Q(g.each) * g.voters;
      payers += g.voters;
    }
    EXPECT_EQ(groups, f.cost.minor())
        << "round " << i << ": reported payments do not sum to the cost";
    EXPECT_LE(payers, approvers[f.project].size());
    done[f.project] = true;
    mes_cost += f.cost;
  }
  // MES stopped because nothing was affordable any more.
  for (std::uint32_t p = 0; p < in.projects.size(); ++p) {
    if (done[p] || !has_utility(p)) continue;
    mpq_class total = 0;
    for (auto v : approvers[p]) total += money[v];
    EXPECT_LT(total, in.projects[p].cost.minor())
        << in.projects[p].id << " was still affordable when MES stopped";
  }
  ASSERT_EQ(r.voter_left.size(), n);
  for (std::size_t v = 0; v < n; ++v) {
    ASSERT_EQ(Q(r.voter_left[v]), money[v]) << "voter " << v;
  }
  if (opt.completion == Completion::kNone) {
    EXPECT_EQ(i, r.funded.size()) << "no completion, yet projects beyond MES";
    return;
  }
  // add1: the kept run is MES with budget B + n·unit·raise (each voter then starts with
  // B/n + raise·unit); one more unit would make the outcome overspend, unless every project
  // with utility is already funded.
  EXPECT_LE(mes_cost, in.budget);
  const std::size_t with_utility = std::count_if(
      appr.begin(), appr.end(), [&, p = 0u](std::uint64_t) mutable { return has_utility(p++); });
  if (i < with_utility && !r.add1_capped) {
    PbInstance raised = in;
    raised.budget =
        in.budget + Money(static_cast<std::int64_t>(n) * in.unit.minor() * (r.add1_raise + 1));
    auto next = Mes(raised, {opt.utility, Completion::kNone});
    ASSERT_TRUE(next.has_value());
    EXPECT_GT(next->total_cost, in.budget) << "one more unit would still fit";
  }
  CheckGreedySteps(in, r, i, in.budget - mes_cost, Step::kCompletion);
}

// ---- the real elections -------------------------------------------------------------------

TEST(Greedy, ReproducesEveryOfficialGreedyOutcome) {
  int checked = 0;
  for (const auto& name : RealElections()) {
    const auto pb = LoadPb(PabulibDir() + "/" + name);
    if (pb.Meta("rule") != "greedy") continue;
    ASSERT_EQ(pb.selected.size(), pb.instance.projects.size()) << name;
    auto r = Greedy(pb.instance);
    ASSERT_TRUE(r.has_value()) << name;
    CheckBudget(pb.instance, *r);
    CheckGreedySteps(pb.instance, *r, 0, pb.instance.budget, Step::kGreedy);
    std::vector<bool> funded(pb.instance.projects.size(), false);
    for (const auto& f : r->funded) funded[f.project] = true;
    EXPECT_EQ(funded, pb.selected) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST(Mes, ReproducesTheOfficialWieliczkaOutcomeWithAdd1) {
  const auto pb = LoadPb(PabulibDir() + "/poland_wieliczka_2023_green-budget.pb");
  ASSERT_EQ(pb.Meta("rule"), "equalshares/add1");
  auto r = Mes(pb.instance, {});  // defaults: cost utilities, add1
  ASSERT_TRUE(r.has_value());
  std::vector<bool> funded(pb.instance.projects.size(), false);
  for (const auto& f : r->funded) funded[f.project] = true;
  EXPECT_EQ(funded, pb.selected);
  EXPECT_EQ(r->funded.size(), 30u);
  EXPECT_EQ(r->total_cost, Money(995'079));
  CheckMes(pb.instance, {}, *r);
}

TEST(Mes, WieliczkaNeedsBigRationals) {
  // Budgets left after MES have denominators far beyond 128 bits: fixed-width arithmetic
  // (or doubles) could not compare them exactly.
  const auto pb = LoadPb(PabulibDir() + "/poland_wieliczka_2023_green-budget.pb");
  auto r = Mes(pb.instance, {Utility::kCost, Completion::kNone});
  ASSERT_TRUE(r.has_value());
  std::size_t widest = 0;
  for (const auto& f : r->voter_left) widest = std::max(widest, mpz_class(f.den).get_str(2).size());
  EXPECT_GT(widest, 128u);
}

// Every method on every real election: properties, and the funded projects in funding order,
// pinned. The pins were checked against an independent implementation of the definitions
// (per-voter exact fractions, no classes) and agree with the official outcomes where those
// exist.
struct Pin {
  std::string file;
  std::string method;  // greedy, mes-cost-none, mes-approval-none, mes-cost-add1, mes-approval-add1
  std::uint32_t add1_raise;
  Ids funded;
};

void PrintTo(const Pin& pin, std::ostream* os) { *os << pin.file << " " << pin.method; }

const std::vector<Pin>& Pins() {
  static const std::vector<Pin> pins = {
      {"poland_lodz_2022_stary-widzew.pb",
       "greedy",
       0,
       {"W070SW", "W073SW", "W158SW", "W055SW", "W102SW", "W057SW", "W003SW", "W165SW"}},
      {"poland_lodz_2022_stary-widzew.pb",
       "mes-cost-none",
       0,
       {"W070SW", "W158SW", "W055SW", "W022SW", "W057SW", "W002SW", "W003SW", "W177SW", "W176SW",
        "W058SW", "W034SW", "W165SW"}},
      {"poland_lodz_2022_stary-widzew.pb",
       "mes-approval-none",
       0,
       {"W057SW", "W070SW", "W003SW", "W055SW", "W165SW", "W177SW", "W022SW", "W158SW", "W002SW",
        "W058SW", "W176SW", "W034SW"}},
      {"poland_lodz_2022_stary-widzew.pb",
       "mes-cost-add1",
       802,
       {"W070SW", "W158SW", "W055SW", "W102SW", "W022SW", "W057SW", "W002SW", "W003SW", "W131SW",
        "W177SW", "W176SW", "W084SW", "W034SW", "W058SW", "W092SW", "W125SW", "W165SW"}},
      {"poland_lodz_2022_stary-widzew.pb",
       "mes-approval-add1",
       1007,
       {"W057SW", "W070SW", "W003SW", "W055SW", "W165SW", "W177SW", "W022SW", "W158SW", "W176SW",
        "W002SW", "W058SW", "W034SW", "W102SW", "W131SW", "W125SW", "W084SW", "W092SW"}},
      {"poland_warszawa_2017_anin.pb",
       "greedy",
       0,
       {"1828", "2533", "2515", "2584", "1998", "418"}},
      {"poland_warszawa_2017_anin.pb",
       "mes-cost-none",
       0,
       {"2533", "2515", "2584", "1998", "2523", "2571", "418"}},
      {"poland_warszawa_2017_anin.pb",
       "mes-approval-none",
       0,
       {"2515", "418", "2533", "2523", "1998", "2571", "2528", "422"}},
      {"poland_warszawa_2017_anin.pb",
       "mes-cost-add1",
       200,
       {"2451", "2533", "2515", "1998", "2523", "2584", "2571", "422", "418", "1329"}},
      {"poland_warszawa_2017_anin.pb",
       "mes-approval-add1",
       235,
       {"2515", "418", "2533", "2523", "1998", "2571", "2528", "422", "1329", "2584", "2586",
        "1149", "2580"}},
      {"poland_warszawa_2017_zacisze.pb", "greedy", 0, {"18", "1422", "1807"}},
      {"poland_warszawa_2017_zacisze.pb",
       "mes-cost-none",
       0,
       {"18", "1285", "1281", "2475", "1807", "2002", "1815", "1108", "1687"}},
      {"poland_warszawa_2017_zacisze.pb",
       "mes-approval-none",
       0,
       {"1807", "2475", "1285", "1687", "2002", "1815", "1721", "1661", "1108", "18"}},
      {"poland_warszawa_2017_zacisze.pb",
       "mes-cost-add1",
       466,
       {"18", "1285", "1281", "2475", "1807", "1102", "2002", "1815", "1108", "1687", "1721", "739",
        "1614"}},
      {"poland_warszawa_2017_zacisze.pb",
       "mes-approval-add1",
       612,
       {"1807", "2475", "1285", "1687", "2002", "1815", "1721", "1661", "1108", "1281", "739",
        "1614", "18", "2227"}},
      {"poland_warszawa_2018_grochow-kinowa.pb",
       "greedy",
       0,
       {"2042", "2680", "1110", "2654", "2264", "696", "899", "2734", "2492", "2708"}},
      {"poland_warszawa_2018_grochow-kinowa.pb",
       "mes-cost-none",
       0,
       {"2042", "2680", "1110", "2654", "2264", "696", "2734", "2492"}},
      {"poland_warszawa_2018_grochow-kinowa.pb",
       "mes-approval-none",
       0,
       {"2680", "2042", "1110", "696", "2734", "2492", "2654", "2481"}},
      {"poland_warszawa_2018_grochow-kinowa.pb",
       "mes-cost-add1",
       161,
       {"2042", "2680", "1110", "2654", "2264", "696", "2734", "2492", "2708", "2481", "1960"}},
      {"poland_warszawa_2018_grochow-kinowa.pb",
       "mes-approval-add1",
       189,
       {"2680", "2042", "1110", "696", "2734", "2492", "2654", "2481", "2264", "2708", "1960"}},
      {"poland_wieliczka_2023_green-budget.pb", "greedy", 0, {"24", "41", "40", "74", "19", "6",
                                                              "21", "32", "39", "58", "42", "25",
                                                              "16", "43", "20", "60", "29", "33",
                                                              "17", "70", "34", "87", "8"}},
      {"poland_wieliczka_2023_green-budget.pb",
       "mes-cost-none",
       0,
       {"24", "41", "74", "39", "58", "25", "20", "43", "60", "17", "29",
        "70", "26", "71", "62", "88", "34", "36", "56", "66", "69"}},
      {"poland_wieliczka_2023_green-budget.pb",
       "mes-approval-none",
       0,
       {"39", "24", "62", "43", "36", "56", "20", "34", "70", "60", "33",
        "66", "26", "25", "58", "32", "29", "88", "69", "17", "71"}},
      {"poland_wieliczka_2023_green-budget.pb",
       "mes-cost-add1",
       164,
       {"24", "41", "40", "74", "19", "6",  "58", "32", "25", "20", "60", "43", "29", "39", "17",
        "42", "26", "70", "34", "71", "62", "88", "9",  "61", "7",  "36", "46", "33", "56", "69"}},
      {"poland_wieliczka_2023_green-budget.pb",
       "mes-approval-add1",
       177,
       {"39", "24", "62", "43", "36", "56", "20", "34", "70", "60", "33",
        "66", "26", "25", "32", "58", "42", "69", "88", "29", "71", "8",
        "17", "16", "74", "7",  "41", "67", "19", "9",  "61", "6",  "54"}},
  };
  return pins;
}

class EveryMethodOnEveryElection : public ::testing::TestWithParam<Pin> {};

TEST_P(EveryMethodOnEveryElection, KeepsItsPropertiesAndPinnedOutcome) {
  const Pin& pin = GetParam();
  const auto pb = LoadPb(PabulibDir() + "/" + pin.file);
  Result<AllocationResult> r = Fail(Errc::kInternal, "no method");
  MesOptions opt;
  if (pin.method == "greedy") {
    r = Greedy(pb.instance);
  } else {
    opt.utility =
        pin.method.find("-approval-") != std::string::npos ? Utility::kApproval : Utility::kCost;
    opt.completion = pin.method.ends_with("-none") ? Completion::kNone : Completion::kAdd1;
    r = Mes(pb.instance, opt);
  }
  ASSERT_TRUE(r.has_value()) << r.error().message;
  if (pin.method == "greedy") {
    CheckBudget(pb.instance, *r);
    CheckGreedySteps(pb.instance, *r, 0, pb.instance.budget, Step::kGreedy);
  } else {
    CheckMes(pb.instance, opt, *r);
    EXPECT_FALSE(r->add1_capped);
  }
  EXPECT_EQ(FundedIds(pb.instance, *r), pin.funded);
  EXPECT_EQ(r->add1_raise, pin.add1_raise);
}

INSTANTIATE_TEST_SUITE_P(Pabulib, EveryMethodOnEveryElection, ::testing::ValuesIn(Pins()),
                         [](const auto& info) {
                           std::string name =
                               info.param.file.substr(0, info.param.file.size() - 3) + "_" +
                               info.param.method;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(Allocate, SameOutcomeForEveryVoterAndProjectOrder) {
  // H10: the order of ballots and of projects in the input never changes the outcome.
  const auto pb = LoadPb(PabulibDir() + "/poland_warszawa_2017_anin.pb");
  const MesOptions methods[] = {{Utility::kCost, Completion::kNone},
                                {Utility::kApproval, Completion::kNone},
                                {Utility::kCost, Completion::kAdd1}};
  auto outcome = [&methods](const PbInstance& in, int method) {
    auto r = method < 0 ? Greedy(in) : Mes(in, methods[method]);
    EXPECT_TRUE(r.has_value());
    std::vector<std::pair<std::string, std::string>> out;  // (id, price) in funding order
    for (const auto& f : r->funded) out.emplace_back(in.projects[f.project].id, f.price.ToString());
    return out;
  };
  for (int method = -1; method < 3; ++method) {
    const auto expected = outcome(pb.instance, method);
    for (std::uint32_t seed = 0; seed < 5; ++seed) {
      std::mt19937 rng(seed);
      PbInstance in = pb.instance;
      std::shuffle(in.approvals.begin(), in.approvals.end(), rng);
      std::vector<std::uint32_t> perm(in.projects.size());
      std::iota(perm.begin(), perm.end(), 0u);
      std::shuffle(perm.begin(), perm.end(), rng);  // project p moves to perm[p]
      for (std::uint32_t p = 0; p < perm.size(); ++p)
        in.projects[perm[p]] = pb.instance.projects[p];
      for (auto& ballot : in.approvals) {
        for (auto& p : ballot) p = perm[p];
        std::shuffle(ballot.begin(), ballot.end(), rng);
      }
      EXPECT_EQ(outcome(in, method), expected) << "method " << method << " seed " << seed;
    }
  }
}

// ---- the worked examples (pb-examples/README.md) -----------------------------------------

struct Example {
  std::string file;
  std::string method;  // greedy, or mes-<utility>-none
  std::set<std::string> funded;
};

TEST(Examples, ReproduceThePublishedOutcomes) {
  const std::vector<Example> examples = {
      {"equalshares_net_example1.pb", "greedy", {"1", "2"}},
      {"equalshares_net_example1.pb", "mes-cost-none", {"1", "4", "5"}},
      {"equalshares_net_example2.pb", "mes-cost-none", {"2", "3", "4"}},
      {"pabutools_appex2.pb", "mes-approval-none", {"p0", "p1", "p3"}},
      {"pabutools_appex2.pb", "mes-cost-none", {"p0", "p2"}},
      {"pabutools_appex3.pb", "mes-approval-none", {"p0", "p1", "p3"}},
      {"pabutools_appex3.pb", "mes-cost-none", {"p0", "p2"}},
      {"pabutools_appex4.pb", "mes-cost-none", {}},
      {"pabutools_appex4.pb", "mes-approval-none", {"p0"}},
      {"lackner_skowron_example1.pb", "mes-cost-none", {"a"}},
      {"lackner_skowron_example1.pb", "mes-approval-none", {"a"}},
      {"pabutools_completion.pb", "mes-cost-none", {"a"}},
      {"pabutools_completion2.pb", "mes-cost-none", {"p1"}},
  };
  for (const auto& ex : examples) {
    const auto pb = LoadPb(ExamplesDir() + "/" + ex.file);
    Result<AllocationResult> r = Fail(Errc::kInternal, "");
    MesOptions opt{ex.method == "mes-approval-none" ? Utility::kApproval : Utility::kCost,
                   Completion::kNone};
    r = ex.method == "greedy" ? Greedy(pb.instance) : Mes(pb.instance, opt);
    ASSERT_TRUE(r.has_value()) << ex.file;
    const auto ids = FundedIds(pb.instance, *r);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), ex.funded)
        << ex.file << " " << ex.method;
    if (ex.method != "greedy") CheckMes(pb.instance, opt, *r);
  }
}

TEST(Examples, EveryMethodKeepsItsProperties) {
  const Ids files = {"equalshares_net_example1.pb", "equalshares_net_example2.pb",
                     "lackner_skowron_example1.pb", "pabutools_appex2.pb",
                     "pabutools_appex3.pb",         "pabutools_appex4.pb",
                     "pabutools_completion.pb",     "pabutools_completion2.pb"};
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    const auto pb = LoadPb(ExamplesDir() + "/" + file);
    auto g = Greedy(pb.instance);
    ASSERT_TRUE(g.has_value());
    CheckBudget(pb.instance, *g);
    CheckGreedySteps(pb.instance, *g, 0, pb.instance.budget, Step::kGreedy);
    for (auto u : {Utility::kCost, Utility::kApproval}) {
      for (auto c : {Completion::kNone, Completion::kAdd1}) {
        auto r = Mes(pb.instance, {u, c});
        ASSERT_TRUE(r.has_value());
        CheckMes(pb.instance, {u, c}, *r);
      }
    }
  }
}

TEST(Examples, EqualSharesExampleOnePrices) {
  // equalshares.net example 1: 11 voters with 100 each. The bike path (700) is bought first:
  // its 7 approvers pay 100 each (ρ = 1/7 per unit of cost utility).
  const auto pb = LoadPb(ExamplesDir() + "/equalshares_net_example1.pb");
  auto r = Mes(pb.instance, {Utility::kCost, Completion::kNone});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->voter_budget.ToString(), "100");
  ASSERT_EQ(r->funded.size(), 3u);
  EXPECT_EQ(pb.instance.projects[r->funded[0].project].id, "1");
  EXPECT_EQ(r->funded[0].price.ToString(), "1/7");
  ASSERT_EQ(r->funded[0].payers.size(), 1u);
  EXPECT_EQ(r->funded[0].payers[0].voters, 7u);
  EXPECT_EQ(r->funded[0].payers[0].each.ToString(), "100");
}

// ---- small instances for single rules ----------------------------------------------------

// Amounts in minor units; projects as (id, cost).
PbInstance Make(std::int64_t budget,
                const std::vector<std::pair<std::string, std::int64_t>>& projects,
                std::vector<std::vector<std::uint32_t>> ballots, std::int64_t unit = 1) {
  PbInstance in{Money(budget), Money(unit), {}, std::move(ballots)};
  for (const auto& [id, cost] : projects) in.projects.push_back({id, Money(cost)});
  return in;
}

Ids GreedyIds(const PbInstance& in) {
  auto r = Greedy(in);
  EXPECT_TRUE(r.has_value());
  return r ? FundedIds(in, *r) : Ids{};
}
Ids MesIds(const PbInstance& in, Utility u, Completion c = Completion::kNone) {
  auto r = Mes(in, {u, c});
  EXPECT_TRUE(r.has_value());
  if (r) CheckMes(in, {u, c}, *r);
  return r ? FundedIds(in, *r) : Ids{};
}

TEST(Greedy, SkipsWhatDoesNotFitAndGoesOn) {
  // a (3 approvals) fits; b (2) does not fit what is left; c (1) does.
  auto in = Make(10, {{"a", 6}, {"b", 5}, {"c", 4}, {"d", 1}}, {{0, 1, 2}, {0, 1}, {0}});
  EXPECT_EQ(GreedyIds(in), (Ids{"a", "c"}));  // d has no approvals: never funded
}

TEST(Greedy, TiesGoToLowerCostThenSmallerIdInNaturalOrder) {
  EXPECT_EQ(GreedyIds(Make(5, {{"x", 5}, {"y", 4}}, {{0, 1}})), (Ids{"y"}));
  EXPECT_EQ(GreedyIds(Make(5, {{"10", 5}, {"9", 5}}, {{0, 1}})), (Ids{"9"}));
  EXPECT_EQ(GreedyIds(Make(5, {{"a", 5}, {"99", 5}}, {{0, 1}})), (Ids{"99"}));
}

TEST(Mes, TiesGoToLowerCostFirst) {
  // Approval utilities. p (cost 1, voter 0) and q (cost 2, voters 0 and 1) both cost 1 per
  // approval. q has more approvals and the smaller id, but p is cheaper: p first, and then q is
  // no longer affordable.
  auto in = Make(2, {{"q", 2}, {"p", 1}}, {{0, 1}, {0}});
  EXPECT_EQ(MesIds(in, Utility::kApproval), (Ids{"p"}));
}

TEST(Mes, TiesGoToMoreApprovalsAfterCost) {
  // Cost utilities, six voters with 1 each. "3" (cost 4, voters 2-5) goes first at ρ = 1/4 and
  // leaves voter 2 with nothing. Then "1" (cost 2, voters 0 and 1) and "2" (cost 2, voters 0, 1
  // and the broke 2) both cost ρ = 1/2; "2" has more approvals and wins although "1" is the
  // smaller id; "1" is then unaffordable.
  auto in = Make(6, {{"1", 2}, {"2", 2}, {"3", 4}}, {{0, 1}, {0, 1}, {1, 2}, {2}, {2}, {2}});
  EXPECT_EQ(MesIds(in, Utility::kCost), (Ids{"3", "2"}));
}

TEST(Mes, TiesGoToTheSmallerIdInNaturalOrderLast) {
  auto in = Make(2, {{"10", 2}, {"9", 2}}, {{0, 1}, {0, 1}});
  EXPECT_EQ(MesIds(in, Utility::kCost), (Ids{"9"}));
  auto mixed = Make(2, {{"b", 2}, {"a", 2}, {"100", 2}}, {{0, 1, 2}, {0, 1, 2}});
  EXPECT_EQ(MesIds(mixed, Utility::kApproval), (Ids{"100"}));
}

TEST(Mes, TieWithAProjectWhoseApproversPaidElsewhere) {
  // Cost utilities, seven voters with 10 each. "3" (cost 4, four approvers, ρ = 1/4) goes
  // first; voter 0 pays 1 of it. "1" (voters 0 and 1) and "2" (voters 2 and 3), both cost 4,
  // still cost ρ = 1/2: "1" must be re-priced (its approver paid) and wins the tie by its id.
  auto in = Make(70, {{"1", 4}, {"2", 4}, {"3", 4}}, {{0, 2}, {0}, {1}, {1}, {2}, {2}, {2}});
  EXPECT_EQ(MesIds(in, Utility::kCost), (Ids{"3", "1", "2"}));
}

TEST(Mes, AffordableWhenTheBudgetsSumExactlyToTheCost) {
  // Ten voters with 1/10 each: in floating point ten tenths sum to 0.9999999999999999 and the
  // project would look unaffordable.
  std::vector<std::vector<std::uint32_t>> ballots(10, std::vector<std::uint32_t>{0});
  auto in = Make(1, {{"all", 1}}, ballots);
  EXPECT_EQ(MesIds(in, Utility::kCost), (Ids{"all"}));
  auto third = Make(1, {{"t", 1}}, {{0}, {0}, {0}});
  EXPECT_EQ(MesIds(third, Utility::kApproval), (Ids{"t"}));
}

TEST(Mes, PoorerApproversPayAllTheyHave) {
  // Cost utilities, 5 voters with 4 each. x (12, voters 0-3) first at ρ = 1/4, each paying 3.
  // Then y (6, voters 0, 1 and 4): voters 0 and 1 have 1 left and pay it; voter 4 pays 4.
  auto in = Make(20, {{"x", 12}, {"y", 6}}, {{0, 1}, {0, 1}, {0}, {0}, {1}});
  auto r = Mes(in, {Utility::kCost, Completion::kNone});
  ASSERT_TRUE(r.has_value());
  CheckMes(in, {Utility::kCost, Completion::kNone}, *r);
  ASSERT_EQ(FundedIds(in, *r), (Ids{"x", "y"}));
  EXPECT_EQ(r->funded[1].price.ToString(), "2/3");  // ρ·6 = 4: voter 2 pays 4
  ASSERT_EQ(r->funded[1].payers.size(), 2u);
  EXPECT_EQ(r->funded[1].payers[0].each.ToString(), "4");
  EXPECT_EQ(r->funded[1].payers[1].voters, 2u);
  EXPECT_EQ(r->funded[1].payers[1].each.ToString(), "1");
}

TEST(Mes, ZeroCostProjectsGiveNoCostUtilityButApprovalUtility) {
  auto in = Make(3, {{"free", 0}, {"paid", 2}}, {{0}, {0, 1}, {1}});
  EXPECT_EQ(MesIds(in, Utility::kCost), (Ids{"paid"}));
  EXPECT_EQ(MesIds(in, Utility::kApproval), (Ids{"free", "paid"}));
  // add1's greedy completion funds it with cost utilities too.
  EXPECT_EQ(MesIds(in, Utility::kCost, Completion::kAdd1), (Ids{"paid", "free"}));
}

TEST(Mes, Add1RaisesOneWholeUnitAtATime) {
  // Budget 10.0 in tenths (unit 10), 2 voters: each starts with 50 minor units (5.0). x (60,
  // voter 0) needs a raise of one unit; y (80, voter 1) would need three, but then x + y = 140
  // overspends. Raises: +1 (x: 60 ≤ 100 fits), +2 (still x only), +3 (x and y: 140 > 100).
  auto in = Make(100, {{"x", 60}, {"y", 80}}, {{0}, {1}}, /*unit=*/10);
  auto r = Mes(in, {Utility::kCost, Completion::kAdd1});
  ASSERT_TRUE(r.has_value());
  CheckMes(in, {Utility::kCost, Completion::kAdd1}, *r);
  EXPECT_EQ(FundedIds(in, *r), (Ids{"x"}));
  EXPECT_EQ(r->add1_raise, 2u);
  EXPECT_EQ(r->mes_runs, 4u);
  EXPECT_EQ(r->voter_budget.ToString(), "70");
}

TEST(Mes, Add1StopsWhenEverythingIsFunded) {
  auto in = Make(100, {{"a", 10}, {"b", 20}}, {{0}, {1}});
  auto r = Mes(in, {Utility::kCost, Completion::kAdd1});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->mes_runs, 1u);
  EXPECT_EQ(FundedIds(in, *r), (Ids{"a", "b"}));
}

TEST(Mes, Add1StopsAtItsLimitAndSaysSo) {
  // z costs far more than the budget: voter 0 could afford it only after 10^9 raises, and until
  // then every outcome ({w}) fits. add1 gives up after kMaxAdd1Rounds raises.
  auto in = Make(2, {{"z", 1'000'000'000}, {"w", 1}}, {{0}, {1}});
  auto r = Mes(in, {Utility::kCost, Completion::kAdd1});
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->add1_capped);
  EXPECT_EQ(r->add1_raise, kMaxAdd1Rounds);
  EXPECT_EQ(r->mes_runs, kMaxAdd1Rounds + 1);
  EXPECT_EQ(FundedIds(in, *r), (Ids{"w"}));
}

TEST(Allocate, NoVotersFundNothing) {
  auto in = Make(10, {{"a", 1}}, {});
  EXPECT_EQ(GreedyIds(in), Ids{});
  auto r = Mes(in, {});
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->funded.empty());
}

TEST(Allocate, RefusesInvalidInstances) {
  EXPECT_EQ(Greedy(Make(-1, {}, {})).error().code, Errc::kLimit);
  EXPECT_EQ(Greedy(Make(10, {{"a", 1}}, {{1}})).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Greedy(Make(10, {{"a", 1}}, {{0, 0}})).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Mes(Make(10, {{"a", 1}, {"a", 2}}, {}), {}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Mes(Make(10, {{"", 1}}, {}), {}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Mes(Make(10, {{"a", -1}}, {}), {}).error().code, Errc::kLimit);
  auto zero_unit = Make(10, {}, {}, /*unit=*/0);
  EXPECT_EQ(Mes(zero_unit, {}).error().code, Errc::kInvalidArgument);
}

TEST(CompareIds, WholeNumbersFirstByValueThenStrings) {
  EXPECT_LT(CompareIds("2", "10"), 0);
  EXPECT_GT(CompareIds("10", "2"), 0);
  EXPECT_LT(CompareIds("999999999999999999999", "a"), 0);
  EXPECT_LT(CompareIds("99999999999999999999", "100000000000000000000"), 0);
  EXPECT_LT(CompareIds("W070SW", "W1"), 0);
  EXPECT_LT(CompareIds("-1", "a"), 0);  // not a whole number: compared as a string
  EXPECT_GT(CompareIds("-1", "1"), 0);
  EXPECT_EQ(CompareIds("7", "7"), 0);
  EXPECT_NE(CompareIds("07", "7"), 0);  // equal numbers written differently: still ordered
}

}  // namespace
}  // namespace polder::decide
