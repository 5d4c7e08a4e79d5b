// The differential check of the rulebook's two followers: the SQLite replica (ingesting in two
// different arrival orders and chunkings) and node/decide's Fold must agree on which events are
// applied, void, pending and frozen, and the two replicas on the state digest. Used by the
// libFuzzer target tests/fuzz/replica_fold_fuzz.cc and by tests/storage/replica_fold_test.cc.
//
// A case is made from a script of bytes: a small world of six fixed keys (key 0 founds the
// circle, optionally with keys 3 and 4 as founding partners; key 5 is admitted only if the script
// says so) and operations that author events —
// admissions (again, under other names), proposals, votes, flags, resolutions, endorsements,
// comments, delegations, withdrawals and seals that refer to any earlier event (of the wrong
// kind, void, forked or never delivered), equivocations at old or current seqs (the founder's
// charter included), gaps that never fill, timestamps that go back, unknown references and
// duplicate deliveries.
#pragma once

#include <string>
#include <vector>

#include "proto/bytes.h"

namespace polder::testutil {

struct DiffCase {
  std::vector<Bytes> events;       // in the order the script authored them (delivered ones)
  std::vector<std::size_t> order;  // a second arrival order (a permutation of events)
  std::vector<std::size_t> chunks_a, chunks_b;  // batch sizes for each replica (sum ≥ size)
  std::vector<std::string> script;              // the operations, in words (for failures)
  bool partners = false;  // the charter lists keys 3 and 4 as founding partners
};

// `partners`: the circle's charter lists founding partners (keys 3 and 4), members from it on.
DiffCase MakeDiffCase(ByteView script, bool partners = false);

// Empty when the replicas and the fold agree; otherwise what differs, in words.
std::string CheckDiffCase(const DiffCase& c);

}  // namespace polder::testutil
