// Fuzz target: the differential check of the rulebook's two followers. The input is a script
// (tests/testutil/replica_vs_fold.h) that authors a set of signed events — forks, gaps,
// references to unknown, void and forked events, double admissions, timestamps that go back,
// duplicates; the SQLite replica ingests them in two arrival orders and chunkings and
// node/decide's Fold folds them. Any difference in the applied, pending, void or frozen sets, or
// in the two replicas' digests, is a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "tests/testutil/replica_vs_fold.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Odd lengths: a circle founded with partners (the same operations).
  const auto c = polder::testutil::MakeDiffCase(polder::ByteView(data, size), size % 2 == 1);
  const std::string diff = polder::testutil::CheckDiffCase(c);
  if (!diff.empty()) {
    std::fprintf(stderr, "replica and fold disagree:\n%s", diff.c_str());
    __builtin_trap();
  }
  return 0;
}
