// The sync protocol's messages (polder/v1/wire.proto, docs/protocol.md section 12): the version,
// names for byte accounting, and the pieces more than one part of the syncer reads or writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "polder/v1/wire.pb.h"
#include "proto/bytes.h"
#include "storage/version_vector.h"

namespace polder::sync {

inline constexpr std::uint32_t kSyncVersion = 1;

// The name of a sync message's type, for byte accounting: hello, vector, push (an EventBatch
// with push = true), batch (catch-up), credit, peers, prune, graft, have, want; "unknown"
// otherwise.
const char* MessageName(const v1::SyncMessage& m);

// A member key as the wire carries it (32 bytes); unset when malformed.
std::optional<MemberKey> KeyFrom(const std::string& bytes);

// Our whole version vector.
v1::SyncMessage VectorMessage(const storage::VersionVector& vector);
// `bytes` more catch-up credit.
v1::SyncMessage CreditMessage(std::uint64_t bytes);

}  // namespace polder::sync
