// MemberIndex: a member's key → their position in CircleState::members, in constant time.
//
// Internal to node/decide: not included outside it (the public API is tally.h).
//
// Ownership: holds a reference to the state, which must outlive the index and not change while
// it is used. Thread-safety: const use from any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "node/decide/fold.h"

namespace polder::decide {

class MemberIndex {
 public:
  explicit MemberIndex(const CircleState& st) : st_(st) {
    by_prefix_.reserve(st.members.size() * 2);
    for (std::size_t i = 0; i < st.members.size(); ++i) {
      by_prefix_.emplace(Prefix(st.members[i].key), static_cast<int>(i));
    }
  }

  // The member's index, or -1 when `k` is not a member.
  int Of(const MemberKey& k) const {
    auto [lo, hi] = by_prefix_.equal_range(Prefix(k));
    for (; lo != hi; ++lo) {
      if (Same(st_.members[static_cast<std::size_t>(lo->second)].key, k)) return lo->second;
    }
    return -1;
  }

 private:
  // A hash table on the keys' first 8 bytes (keys are uniformly distributed), then a full
  // comparison.
  static std::uint64_t Prefix(const MemberKey& k) {
    std::uint64_t p;
    std::memcpy(&p, k.bytes.data(), sizeof p);
    return p;
  }
  static bool Same(const MemberKey& a, const MemberKey& b) {
    std::uint64_t x[4], y[4];
    std::memcpy(x, a.bytes.data(), sizeof x);
    std::memcpy(y, b.bytes.data(), sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
  }

  const CircleState& st_;
  std::unordered_multimap<std::uint64_t, int> by_prefix_;
};

}  // namespace polder::decide
