// bench/mes: greedy approval and the Method of Equal Shares on every Pabulib file of a folder
// (default: the shared real elections), median wall time of several runs of each method.
//
//   build/bench/mes_bench [FOLDER] [RUNS]
//
// Targets (issue: PB allocation methods): on the largest instance (Wieliczka, 6,586 voters) MES
// under 100 ms without completion and under 1 s with add1.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "node/decide/allocate.h"
#include "node/decide/pabulib.h"

namespace polder {
namespace {

using Clock = std::chrono::steady_clock;

// Median milliseconds of `runs` calls of `fn`.
double MedianMs(int runs, const std::function<void()>& fn) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace
}  // namespace polder

int main(int argc, char** argv) {
  using namespace polder;
  namespace fs = std::filesystem;
  const fs::path folder = argc > 1 ? fs::path(argv[1]) : fs::path(POLDER_PABULIB_DIR);
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 7;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    if (e.path().extension() == ".pb") files.push_back(e.path());
  }
  if (ec || files.empty()) {
    std::fprintf(stderr, "mes_bench: no .pb files in %s\n", folder.c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());
  std::printf("median of %d runs, milliseconds (parse excluded)\n", runs);
  std::printf("%-40s %7s %5s %8s %8s %10s %10s %11s\n", "instance", "voters", "proj", "parse",
              "greedy", "mes none", "mes add1", "add1 raise");
  bool ok = true;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    const auto t0 = Clock::now();
    auto pb = decide::ReadPabulib(in);
    const double parse_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!pb) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), pb.error().message.c_str());
      ok = false;
      continue;
    }
    const auto& inst = pb->instance;
    decide::AllocationResult add1;
    const double greedy = MedianMs(runs, [&] { (void)decide::Greedy(inst); });
    const double none = MedianMs(runs, [&] {
      (void)decide::Mes(inst, {decide::Utility::kCost, decide::Completion::kNone});
    });
    const double full = MedianMs(runs, [&] {
      add1 = *decide::Mes(inst, {decide::Utility::kCost, decide::Completion::kAdd1});
    });
    std::printf("%-40s %7zu %5zu %8.1f %8.3f %10.2f %10.1f %5u (%u runs)\n",
                path.filename().c_str(), inst.approvals.size(), inst.projects.size(), parse_ms,
                greedy, none, full, add1.add1_raise, add1.mes_runs);
    if (path.filename() == "poland_wieliczka_2023_green-budget.pb") {
      std::printf("  target: mes none %.2f ms < 100 ms: %s; mes add1 %.1f ms < 1000 ms: %s\n", none,
                  none < 100 ? "met" : "MISSED", full, full < 1000 ? "met" : "MISSED");
    }
  }
  return ok ? 0 : 1;
}
