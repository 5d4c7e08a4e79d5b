// Bytes and fixed-size ids shared by every module.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/result.h"

namespace polder {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string ToHex(ByteView bytes);
Result<Bytes> FromHex(std::string_view hex);

// A 32-byte value with a type tag so ids of different kinds cannot be mixed up.
template <class Tag>
struct Id32 {
  std::array<std::uint8_t, 32> bytes{};

  static std::optional<Id32> FromBytes(ByteView b) {
    if (b.size() != 32) return std::nullopt;
    Id32 id;
    std::copy(b.begin(), b.end(), id.bytes.begin());
    return id;
  }
  ByteView view() const { return {bytes.data(), bytes.size()}; }
  std::string str() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
  std::string hex() const { return ToHex(view()); }
  bool zero() const {
    return std::all_of(bytes.begin(), bytes.end(), [](auto c) { return c == 0; });
  }
  auto operator<=>(const Id32&) const = default;
};

struct EventIdTag {};
struct MemberKeyTag {};
struct CircleIdTag {};
struct DigestTag {};
using EventId = Id32<EventIdTag>;      // BLAKE2b-256 of an event's signed body bytes
using MemberKey = Id32<MemberKeyTag>;  // Ed25519 public key
using CircleId = Id32<CircleIdTag>;
using Digest32 = Id32<DigestTag>;

// A hash for unordered containers keyed by ids and keys: they are 32 uniformly distributed bytes,
// so their first 8 are a good hash.
struct Id32Hash {
  template <class Tag>
  std::size_t operator()(const Id32<Tag>& id) const {
    std::uint64_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return static_cast<std::size_t>(h);
  }
};

}  // namespace polder
