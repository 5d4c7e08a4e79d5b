// MemberIndex: a member's key → their position in CircleState::members, in constant time; and
// the logs: every member's (at their position) and every device's (after the members', in
// CircleState::devices order), which is what a sealed view covers.
//
// Internal to node/decide: not included outside it (the public API is tally.h).
//
// Ownership: holds a reference to the state, which must outlive the index and not change while
// it is used. Thread-safety: const use from any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
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
    for (std::size_t i = 0; i < st.devices.size(); ++i) {
      devices_.emplace(Prefix(st.devices[i].key), static_cast<int>(i));
    }
  }

  // How many logs there are: members', then devices'.
  std::size_t logs() const { return st_.members.size() + st_.devices.size(); }
  // The log of an act by member `member` (an index from Of) signed by `device` (nullopt: the
  // member's own key); -1 when it has none.
  int LogOf(int member, const std::optional<MemberKey>& device) const {
    if (!device) return member;
    return DeviceLog(*device);
  }
  // The log of a key: a member's, else a device's; -1 when neither.
  int LogOf(const MemberKey& k) const {
    const int i = Of(k);
    return i >= 0 ? i : DeviceLog(k);
  }
  // The key whose log `log` is.
  const MemberKey& LogKey(int log) const {
    const auto n = st_.members.size();
    const auto l = static_cast<std::size_t>(log);
    return l < n ? st_.members[l].key : st_.devices[l - n].key;
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

  int DeviceLog(const MemberKey& k) const {
    if (devices_.empty()) return -1;
    auto [lo, hi] = devices_.equal_range(Prefix(k));
    for (; lo != hi; ++lo) {
      if (Same(st_.devices[static_cast<std::size_t>(lo->second)].key, k)) {
        return static_cast<int>(st_.members.size()) + lo->second;
      }
    }
    return -1;
  }

  const CircleState& st_;
  std::unordered_multimap<std::uint64_t, int> by_prefix_;
  std::unordered_multimap<std::uint64_t, int> devices_;
};

}  // namespace polder::decide
