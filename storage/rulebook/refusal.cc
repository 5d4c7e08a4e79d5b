#include "storage/rulebook/refusal.h"

namespace polder::rulebook {

const char* ToString(RefusalCode code) {
  switch (code) {
    case RefusalCode::kTooLarge: return "too_large";
    case RefusalCode::kMalformed: return "malformed";
    case RefusalCode::kBadSignature: return "bad_signature";
    case RefusalCode::kWrongCircle: return "wrong_circle";
    case RefusalCode::kBadCharter: return "bad_charter";
    case RefusalCode::kFutureTimestamp: return "future_timestamp";
    case RefusalCode::kTimestampRegression: return "timestamp_regression";
    case RefusalCode::kBadReference: return "bad_reference";
    case RefusalCode::kNotAllowed: return "not_allowed";
    case RefusalCode::kForkedAuthor: return "forked_author";
    case RefusalCode::kPendingFull: return "pending_full";
    case RefusalCode::kNotTheCharter: return "not_the_charter";
    case RefusalCode::kUnknownKind: return "unknown_kind";
  }
  return "unknown";
}

}  // namespace polder::rulebook
