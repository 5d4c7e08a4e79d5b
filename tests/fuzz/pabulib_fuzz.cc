// Fuzz target: the Pabulib reader, then (for small instances) greedy and MES on what it read.
// Whatever parses must be a valid instance, and every outcome must fit the budget.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/decide/allocate.h"
#include "node/decide/pabulib.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace polder::decide;
  auto pb = ParsePabulib(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!pb) return 0;
  const PbInstance& in = pb->instance;
  if (!Validate(in)) __builtin_trap();
  if (in.projects.size() > 64 || in.approvals.size() > 256) return 0;  // keep runs fast
  auto g = Greedy(in);
  if (!g || g->total_cost > in.budget) __builtin_trap();
  for (auto u : {Utility::kCost, Utility::kApproval}) {
    auto m = Mes(in, {u, Completion::kNone});
    if (!m || m->total_cost > in.budget || m->voter_left.size() != in.approvals.size()) {
      __builtin_trap();
    }
  }
  return 0;
}
