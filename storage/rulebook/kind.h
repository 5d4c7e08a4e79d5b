// The payload kinds of events as stable lower-case words.
#pragma once

#include <optional>
#include <string_view>

#include "polder/v1/event.pb.h"

namespace polder::rulebook {

using Kind = v1::EventBody::PayloadCase;

// charter, admit, proposal, vote, flag, resolution, endorsement, comment, delegation, withdraw,
// seal, device_link, device_claim; "unknown" for anything else.
const char* KindName(Kind kind);
// The kind a word names (KindName's inverse); nullopt for any other word.
std::optional<Kind> KindNamed(std::string_view word);

}  // namespace polder::rulebook
