// Events for the benchmarks, built with protobuf directly: chained logs, random ids (the fold
// takes ids as given), keys with a random prefix and the member's number at the end.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "node/decide/fold.h"

namespace polder::bench {

class EventBuilder {
 public:
  struct Head {
    std::uint64_t seq = 0;
    EventId id;
  };

  explicit EventBuilder(std::uint64_t seed) : rng(seed), circle_(32, 'c') {}

  MemberKey Key(int i) {
    std::string k(32, '\0');
    for (int b = 0; b < 8; ++b) k[static_cast<std::size_t>(b)] = static_cast<char>(rng());
    k[31] = static_cast<char>(i & 0xff);
    k[30] = static_cast<char>(i >> 8);
    return *MemberKey::FromBytes(AsBytes(k));
  }

  // The next event of `who`'s log, timestamped `ts`, to be filled in and pushed.
  v1::EventBody Body(const MemberKey& who, std::int64_t ts) {
    const Head& h = heads_[who];
    v1::EventBody b;
    b.set_circle_id(circle_);
    b.set_author(who.str());
    b.set_seq(h.seq + 1);
    if (h.seq > 0) b.set_prev(h.id.str());
    b.set_timestamp_ms(ts);
    return b;
  }

  EventId Push(const MemberKey& who, v1::EventBody b) {
    std::string id(32, '\0');
    for (auto& c : id) c = static_cast<char>(rng());
    const EventId eid = *EventId::FromBytes(AsBytes(id));
    heads_[who] = {b.seq(), eid};
    events.push_back({eid, std::move(b)});
    return eid;
  }

  // Each log's head so far.
  const std::map<MemberKey, Head>& heads() const { return heads_; }

  std::vector<decide::FoldEvent> events;
  std::mt19937_64 rng;

 private:
  std::string circle_;
  std::map<MemberKey, Head> heads_;
};

}  // namespace polder::bench
