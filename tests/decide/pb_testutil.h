// Helpers for the participatory-budgeting tests: the shared data folders and file loading.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "node/decide/allocate.h"
#include "node/decide/pabulib.h"

namespace polder::decide::testing {

// The shared test data (beside the repository; $POLDER_SHARED overrides).
inline std::string Shared() {
  const char* s = std::getenv("POLDER_SHARED");
  return s && *s ? s : POLDER_SHARED_DIR;
}
inline std::string PabulibDir() { return Shared() + "/data/pabulib"; }
inline std::string ExamplesDir() { return Shared() + "/data/pb-examples"; }

// The real elections, in a fixed order.
inline const std::vector<std::string>& RealElections() {
  static const std::vector<std::string> files = {
      "poland_lodz_2022_stary-widzew.pb", "poland_warszawa_2017_anin.pb",
      "poland_warszawa_2017_zacisze.pb", "poland_warszawa_2018_grochow-kinowa.pb",
      "poland_wieliczka_2023_green-budget.pb"};
  return files;
}

inline PabulibFile LoadPb(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  auto f = ReadPabulib(in);
  EXPECT_TRUE(f.has_value()) << path << ": " << (f ? "" : f.error().message);
  return f ? std::move(*f) : PabulibFile{};
}

// Funded project ids in funding order.
inline std::vector<std::string> FundedIds(const PbInstance& in, const AllocationResult& r) {
  std::vector<std::string> ids;
  for (const auto& f : r.funded) ids.push_back(in.projects[f.project].id);
  return ids;
}

}  // namespace polder::decide::testing
