// The circle's decision state, folded from a replica's stored events (node/decide).
//
// Thread-safety: none; use the replica from one thread at a time.
#pragma once

#include "node/decide/fold.h"
#include "proto/result.h"
#include "storage/replica.h"

namespace polder::app {

// Every stored event, decoded (signatures were verified on ingest), folded.
Result<decide::CircleState> LoadCircleState(storage::Replica& replica);

}  // namespace polder::app
