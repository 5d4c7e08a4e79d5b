// Holdings: the version vector the sync protocol advertises.
#include "node/sync/holdings.h"

#include <gtest/gtest.h>

namespace polder::sync {
namespace {

MemberKey Key(std::uint8_t b) {
  MemberKey k;
  k.bytes.fill(b);
  return k;
}
EventId Id(std::uint8_t b) {
  EventId id;
  id.bytes.fill(b);
  return id;
}

// An event authored here past a gap in the author's own run (a device's claim and first act,
// written together, reach the syncer in any order) must not put an entry of seq 0 in the vector:
// peers cut off a node whose Vector holds one ("malformed vector entry"), for good. Before, it
// did, and a device's node lost every session.
TEST(Holdings, AnEventAuthoredPastAGapNeverPutsAnEmptyEntryInTheVector) {
  Holdings h;
  h.Authored(Key(1), 2, Id(2));
  for (const auto& [author, head] : h.vector().heads) EXPECT_NE(head.seq, 0u);
  EXPECT_EQ(h.vector().heads.count(Key(1)), 0u);
  h.Authored(Key(1), 1, Id(1));
  ASSERT_EQ(h.vector().heads.count(Key(1)), 1u);
  EXPECT_EQ(h.vector().heads.at(Key(1)).seq, 2u);
  EXPECT_EQ(h.vector().heads.at(Key(1)).id, Id(2));
}

}  // namespace
}  // namespace polder::sync
