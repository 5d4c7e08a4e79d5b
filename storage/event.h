// Transitional: the names storage/ used to define, now in storage/rulebook/. Removed once every
// caller uses the rulebook's names directly.
#pragma once

#include "storage/rulebook/decode.h"
#include "storage/rulebook/kind.h"
#include "storage/rulebook/refusal.h"
#include "storage/rulebook/sign.h"

namespace polder::storage {

using rulebook::CircleIdFor;
using rulebook::Decode;
using rulebook::DecodeBatch;
using rulebook::DecodedEvent;
using rulebook::Envelope;
using rulebook::KindName;
using rulebook::Refusal;
using rulebook::RefusalCode;
using rulebook::Sign;
using rulebook::ToString;

}  // namespace polder::storage
