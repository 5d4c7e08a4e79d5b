#include "storage/rulebook/kind.h"

namespace polder::rulebook {

const char* KindName(Kind kind) {
  switch (kind) {
    case v1::EventBody::kCharter: return "charter";
    case v1::EventBody::kAdmit: return "admit";
    case v1::EventBody::kProposal: return "proposal";
    case v1::EventBody::kVote: return "vote";
    case v1::EventBody::kRiskFlag: return "flag";
    case v1::EventBody::kFlagResolution: return "resolution";
    case v1::EventBody::kEndorsement: return "endorsement";
    case v1::EventBody::kComment: return "comment";
    case v1::EventBody::kDelegation: return "delegation";
    case v1::EventBody::kWithdraw: return "withdraw";
    case v1::EventBody::kSeal: return "seal";
    case v1::EventBody::kDeviceLink: return "device_link";
    case v1::EventBody::kDeviceClaim: return "device_claim";
    case v1::EventBody::kRemoval: return "removal";
    case v1::EventBody::kNetworkKey: return "network_key";
    case v1::EventBody::PAYLOAD_NOT_SET: break;
  }
  return "unknown";
}

std::optional<Kind> KindNamed(std::string_view word) {
  for (int k = v1::EventBody::kCharter; k <= v1::EventBody::kNetworkKey; ++k) {
    if (word == KindName(static_cast<Kind>(k))) return static_cast<Kind>(k);
  }
  return std::nullopt;
}

}  // namespace polder::rulebook
