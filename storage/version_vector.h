// VersionVector: what a replica holds, per author — the longest run of sequence numbers it holds
// without a gap (1..seq) and the id of the event at `seq`. Peers compare vectors (first by their
// digest) to learn what the other lacks. See docs/protocol.md, section 12.
#pragma once

#include <cstdint>
#include <map>

#include "proto/bytes.h"

namespace polder::storage {

struct AuthorHead {
  std::uint64_t seq = 0;  // 1..seq are all held (in any state)
  EventId id{};           // the event at seq (the smaller id when two versions exist)
  bool forked = false;    // two different events exist at one of this author's sequence numbers
  bool operator==(const AuthorHead&) const = default;
};

// Events held past a gap in an author's log, per author: (seq → id).
using BeyondGap = std::map<MemberKey, std::map<std::uint64_t, EventId>>;

struct VersionVector {
  std::map<MemberKey, AuthorHead> heads;

  // BLAKE2b-256 over the sorted entries: equal vectors, equal digests.
  Digest32 Digest() const;
  // The seq held for `author` (0 when none).
  std::uint64_t SeqOf(const MemberKey& author) const {
    auto it = heads.find(author);
    return it == heads.end() ? 0 : it->second.seq;
  }
  // Events this vector holds beyond `other`'s, counted by sequence numbers.
  std::uint64_t AheadOf(const VersionVector& other) const;
};

}  // namespace polder::storage
