// The stateless rules of an event body: what can be checked from the body alone — the shape of
// every field and its size limit (rulebook/limits.h), and that a charter's circle id is bound to
// its founder and salt (docs/protocol.md §2–§3). Decode() applies them to every event; nothing
// here needs a replica, a clock or a signature.
#pragma once

#include <optional>

#include "polder/v1/event.pb.h"
#include "storage/rulebook/refusal.h"

namespace polder::rulebook {

// The refusal of the first rule `body` breaks (ids, sequence and link, timestamp, payload);
// nullopt when it keeps them all.
std::optional<Refusal> CheckBody(const v1::EventBody& body);

// Payload kinds of later versions take field numbers kFutureKindFirst..kFutureKindLast of
// EventBody's payload (docs/protocol.md §2 "Forward compatibility"). A body with no payload this
// version knows and an unknown field in that range is of a future kind: it passes CheckBody (its
// common fields checked), is stored and forwarded, and takes its place in its author's log as a
// void event, with no effect here. Returns that field's number, if any.
inline constexpr int kFutureKindFirst = 25;
inline constexpr int kFutureKindLast = 999;
std::optional<int> FutureKind(const v1::EventBody& body);

}  // namespace polder::rulebook
