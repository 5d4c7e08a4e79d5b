#include "proto/words.h"

#include "polder/v1/event.pb.h"

namespace polder {

const char* SeverityWord(int s) {
  switch (s) {
    case v1::INFO: return "info";
    case v1::LOW: return "low";
    case v1::MEDIUM: return "medium";
    case v1::HIGH: return "high";
    case v1::CRITICAL: return "critical";
    default: return "unknown";
  }
}

const char* ChoiceWord(int c) {
  switch (c) {
    case v1::FOR: return "for";
    case v1::AGAINST: return "against";
    case v1::ABSTAIN: return "abstain";
    default: return "unknown";
  }
}

}  // namespace polder
