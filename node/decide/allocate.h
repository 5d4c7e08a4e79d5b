// Participatory-budgeting allocation methods over approval ballots: greedy approval and the
// Method of Equal Shares (Peters, Pierczyński, Skowron) with the add1 completion, as defined by
// the equalshares.net computation tool.
//
// Every decision is exact: amounts are integers in minor units and MES prices are big rationals
// (GMP, private to this module), so every node computes bit-identical outcomes on every CPU.
// The functions are pure: same instance and options, same result. Voter order does not matter;
// project order matters only through the documented tie-breaks, which never depend on positions.
//
// Thread-safety: the functions share no state; call them from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/money.h"
#include "proto/result.h"

namespace polder::decide {

struct Project {
  std::string id;  // unique, non-empty
  Money cost;      // 0 ≤ cost ≤ kMaxAmountMinor
};

// One participatory-budgeting election with approval ballots.
struct PbInstance {
  Money budget;
  // Minor units per whole currency unit (100 for cents); add1 raises voters' budgets by this.
  Money unit{1};
  std::vector<Project> projects;
  // One ballot per voter: the indices of the projects it approves, each at most once.
  std::vector<std::vector<std::uint32_t>> approvals;
};

// Checks the bounds in limits.h, unique non-empty ids, index ranges and duplicate approvals.
// Greedy() and Mes() call it first.
[[nodiscard]] Status Validate(const PbInstance& instance);

// The order of project ids used in tie-breaks and listings: ids made only of digits compare as
// numbers and come before all other ids, which compare as byte strings. Returns <0, 0 or >0.
int CompareIds(std::string_view a, std::string_view b);

// An exact non-negative rational in lowest terms, as decimal digit strings (den ≥ 1).
struct Fraction {
  std::string num = "0";
  std::string den = "1";
  std::string ToString() const;  // "7", "3/4"
  bool operator==(const Fraction&) const = default;
};

enum class Step {
  kGreedy,      // funded by greedy approval
  kMes,         // funded by a round of the Method of Equal Shares
  kCompletion,  // funded by the greedy spending of what MES left
};
const char* ToString(Step step);

// `voters` approvers each paid `each` towards a project.
struct PayerGroup {
  std::uint64_t voters = 0;
  Fraction each;
};

struct Funded {
  std::uint32_t project = 0;  // index into PbInstance::projects
  Money cost;
  std::uint64_t approvals = 0;
  Step step = Step::kGreedy;
  // kMes only: the price per unit of utility at which the project was bought (ρ), and how its
  // approvers paid: each paid min(their money left, ρ × utility), grouped by amount paid.
  Fraction price;
  std::vector<PayerGroup> payers;
};

struct AllocationResult {
  std::vector<Funded> funded;  // in the order the method funded them
  Money total_cost;            // sum of the funded costs, ≤ budget
  // MES only.
  Fraction voter_budget;             // each voter's starting budget in the kept MES run
  std::vector<Fraction> voter_left;  // per voter, money left when MES stopped (before completion)
  std::uint32_t mes_runs = 0;        // times MES ran (add1: the first run and every raise tried)
  std::uint32_t add1_raise = 0;  // add1: whole units added to each voter's budget in the kept run
  bool add1_capped = false;      // add1 stopped at kMaxAdd1Rounds raises, not by the budget
};

// Greedy approval: projects in order of approvals (most first; then lower cost, then smaller id),
// fund each that fits what is left of the budget, skip the others and go on. Projects nobody
// approves are never funded.
[[nodiscard]] Result<AllocationResult> Greedy(const PbInstance& instance);

enum class Utility {
  kCost,      // a voter's utility for an approved project is its cost
  kApproval,  // ... is 1
};
enum class Completion {
  kNone,  // each voter starts with budget / n and MES stops when nothing is affordable
  kAdd1,  // raise the voters' budget one currency unit at a time while the outcome fits, then
          // spend what is left greedily
};
const char* ToString(Utility u);
const char* ToString(Completion c);

struct MesOptions {
  Utility utility = Utility::kCost;
  Completion completion = Completion::kAdd1;
};

// The Method of Equal Shares. Every voter starts with budget / n (n = number of ballots, empty
// ones included). Each round funds the project its approvers can afford at the lowest price ρ
// per unit of utility, each approver paying min(money left, ρ × utility); ties go to the lower
// cost, then more approvals, then the smaller id (CompareIds). It stops when no project is
// affordable. Projects without approvers, and with cost utilities projects that cost nothing,
// give no utility and are never bought by MES (add1's greedy completion may still fund the
// latter).
//
// add1: MES is run again with each voter's starting budget raised by 1, 2, ... units
// (PbInstance::unit) as long as the outcome's cost fits the real budget (at most kMaxAdd1Rounds
// raises, and no further once every project with utility is funded); the last outcome that fits
// is kept and what is left of the budget is spent greedily on the other projects.
[[nodiscard]] Result<AllocationResult> Mes(const PbInstance& instance, const MesOptions& options);

}  // namespace polder::decide
