// Making events: the circle id a charter binds, signing a body, and the envelope that travels
// (docs/protocol.md §1–§2). Signing is the only way events are created.
#pragma once

#include <string_view>

#include "crypto/identity.h"
#include "polder/v1/event.pb.h"
#include "proto/bytes.h"

namespace polder::rulebook {

// Circle id of a circle founded by `founder` with `salt`.
CircleId CircleIdFor(const MemberKey& founder, ByteView salt);

// Serializes and signs `body` (whose author must be `key`'s public key); the SignedEvent bytes.
Bytes Sign(const crypto::SigningKey& key, const v1::EventBody& body, EventId* id_out = nullptr);

// Serialized SignedEvent from parts.
Bytes Envelope(std::string_view body_bytes, std::string_view signature);

}  // namespace polder::rulebook
