// Decoding and stateless validation of signed events, and building new ones.
//
// Decode() is the first half of the ingest gate: everything that can be checked from the bytes
// alone (sizes, shape, signature, charter binding). The Replica does the second half (author,
// sequence, references) against what it holds.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "polder/v1/event.pb.h"
#include "proto/bytes.h"

namespace polder::storage {

// Why an event was not applied. The string form (ToString) is the stable reason code.
enum class RefusalCode {
  kTooLarge,             // over kMaxEventBytes or a field limit
  kMalformed,            // not a SignedEvent/EventBody, or fields of the wrong shape
  kBadSignature,         // signature does not verify over the received body bytes
  kWrongCircle,          // circle id is not this replica's circle
  kBadCharter,           // charter not at seq 1, or circle id not bound to founder and salt
  kFutureTimestamp,      // more than kMaxFutureSkewMs ahead of the local clock
  kTimestampRegression,  // earlier than the author's previous event
  kBadReference,         // refers to an event of the wrong kind
  kNotAllowed,           // the author may not do this (e.g. withdraw someone else's proposal)
  kForkedAuthor,         // the author equivocated; their log is frozen at the fork
  kPendingFull,          // the pending set (or one stranger's share of it) is full
};

const char* ToString(RefusalCode code);

struct Refusal {
  RefusalCode code;
  std::string message;
};

// A decoded, signature-checked event.
struct DecodedEvent {
  EventId id;
  MemberKey author;
  std::string body_bytes;  // exactly as received and signed
  std::string signature;
  v1::EventBody body;
};

// The payload kind as a stable lower-case word (charter, admit, proposal, vote, flag, resolution,
// endorsement, comment, delegation, withdraw).
const char* KindName(v1::EventBody::PayloadCase kind);

// Parses and checks a serialized SignedEvent. `now_ms` is the local clock for the future-skew rule.
Result<DecodedEvent, Refusal> Decode(ByteView signed_event, std::int64_t now_ms);

// Decode() of every event, on up to `threads` threads (the calling one included); results in
// input order.
std::vector<Result<DecodedEvent, Refusal>> DecodeBatch(std::span<const Bytes> events,
                                                       std::int64_t now_ms, unsigned threads);

// Circle id of a circle founded by `founder` with `salt`.
CircleId CircleIdFor(const MemberKey& founder, ByteView salt);

// Serializes and signs `body` (whose author must be `key`'s public key).
Bytes Sign(const crypto::SigningKey& key, const v1::EventBody& body, EventId* id_out = nullptr);

// Serialized SignedEvent from parts.
Bytes Envelope(std::string_view body_bytes, std::string_view signature);

}  // namespace polder::storage
