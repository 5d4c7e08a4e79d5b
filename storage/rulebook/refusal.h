// Why an event was not applied: the reason codes of the ingest gate (docs/protocol.md §4).
#pragma once

#include <string>

namespace polder::rulebook {

// The string form (ToString) is the stable reason code shown in reports and metrics.
enum class RefusalCode {
  kTooLarge,             // over kMaxEventBytes or a field limit
  kMalformed,            // not a SignedEvent/EventBody, or fields of the wrong shape
  kBadSignature,         // signature does not verify over the received body bytes
  kWrongCircle,          // circle id is not this replica's circle
  kBadCharter,           // charter not at seq 1, or its circle id is not its hash
  kFutureTimestamp,      // more than kMaxFutureSkewMs ahead of the local clock
  kTimestampRegression,  // earlier than the author's previous event
  kBadReference,         // refers to an event of the wrong kind
  kNotAllowed,           // the author may not do this (e.g. withdraw someone else's proposal)
  kForkedAuthor,         // the author equivocated; their log is frozen at the fork
  kPendingFull,          // the pending set (or one stranger's share of it) is full
  kNotTheCharter,        // another event at the founder's seq 1, the charter's place: not of the
                         // circle (an honest node may hold one briefly, before the charter)
  kUnknownKind,          // a payload kind of a later version: placed void, no effect here
};

const char* ToString(RefusalCode code);

struct Refusal {
  RefusalCode code;
  std::string message;
};

}  // namespace polder::rulebook
