// The benchmarks' seals as a fold records them, so that later seals can be planned on them.
#pragma once

#include <cstdint>

#include "node/app/sealer.h"
#include "node/decide/fold.h"

namespace polder::bench {

// A seal signed from `plan` (its first part at `seq`, its last at `ts`), every entry held.
inline decide::SealRecord SealRecordOf(const app::SealPlan& plan, const MemberKey& author,
                                       std::uint64_t seq, std::int64_t ts, std::int64_t deadline,
                                       const EventId& event) {
  decide::SealRecord r;
  r.author = author;
  r.seq = seq;
  r.timestamp_ms = ts;
  r.deadline_ms = deadline;
  r.event = event;
  r.base = plan.base;
  for (const auto& [key, head] : plan.entries) {
    r.heads.push_back({key, head.seq, head.id, head.forked, true});
  }
  return r;
}

}  // namespace polder::bench
