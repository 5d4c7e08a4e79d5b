// The state digest: BLAKE2b-256 (domain "polder-digest-v1") over a canonical form of the derived
// tables (docs/protocol.md §9). Equal event sets give equal digests whatever order the events
// arrived in. Internal to storage/ (the Replica exposes it).
#pragma once

#include "storage/db.h"

namespace polder::storage {

// Reads every derived table in one snapshot (its own read transaction unless one is open).
Digest32 ComputeStateDigest(Db& db);

}  // namespace polder::storage
