// Making events: the circle id a charter binds, signing a body, and the envelope that travels
// (docs/protocol.md §1–§2). Signing is the only way events are created.
#pragma once

#include <string_view>

#include "crypto/identity.h"
#include "polder/v1/event.pb.h"
#include "proto/bytes.h"

namespace polder::rulebook {

// A circle is named by its charter: its id is the hash of the charter's body as signed, less the
// leading circle-id record (docs/protocol.md §2). So one charter body exists per circle id, and a
// founder cannot sign a second charter for a circle that already has one.
//
// Sets `body.circle_id` to the id of the circle this charter founds. Call it once every other
// field (author, seq, timestamp, the charter) is set, then Sign the body.
CircleId BindCharter(v1::EventBody& body);

// Whether a charter's body as signed names its own circle: it begins with the circle-id record
// holding `circle_id`, and that id is the hash of the bytes after it. (A body that repeats field 1
// later would parse to another id, so the leading record is the only one.)
bool CharterNamesItsCircle(std::string_view body_bytes, std::string_view circle_id);

// Serializes and signs `body` (whose author must be `key`'s public key); the SignedEvent bytes.
Bytes Sign(const crypto::SigningKey& key, const v1::EventBody& body, EventId* id_out = nullptr);

// Serialized SignedEvent from parts.
Bytes Envelope(std::string_view body_bytes, std::string_view signature);

}  // namespace polder::rulebook
