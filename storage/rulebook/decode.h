// Decoding: the stateless half of the ingest gate. From the bytes alone, in this order: the size
// bound, the envelope and body parse, the body's rules (rulebook/checks.h), the clock-skew rule
// and the signature; then the id. The stateful half (rulebook/judge.h) needs what is held.
//
// Thread-safety: pure functions; DecodeBatch uses threads of its own and returns when they end.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "polder/v1/event.pb.h"
#include "proto/bytes.h"
#include "storage/rulebook/refusal.h"

namespace polder::rulebook {

// A decoded, signature-checked event.
struct DecodedEvent {
  EventId id;
  MemberKey author;
  std::string body_bytes;  // exactly as received and signed
  std::string signature;
  v1::EventBody body;
};

// Parses and checks a serialized SignedEvent. `now_ms` is the local clock for the future-skew rule.
Result<DecodedEvent, Refusal> Decode(ByteView signed_event, std::int64_t now_ms);

// The id, author and seq of a serialized SignedEvent, without checking its signature or rules
// (nothing when it passes the size bound or does not parse): enough to tell an event already
// held (by its id, the hash of the body) from a new one before paying for its signature check.
struct Peeked {
  EventId id;
  MemberKey author;
  std::uint64_t seq = 0;
};
std::optional<Peeked> Peek(ByteView signed_event);

// Decode() of every event, on up to `threads` threads (the calling one included); results in
// input order.
std::vector<Result<DecodedEvent, Refusal>> DecodeBatch(std::span<const Bytes> events,
                                                       std::int64_t now_ms, unsigned threads);

}  // namespace polder::rulebook
