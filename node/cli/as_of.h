// Points in time typed by a person: `--as-of 2026-12-01T10:00:00Z` or `--as-of 1795000000000`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/result.h"
#include "proto/time_text.h"

namespace polder::cli {

// RFC 3339 ("2026-12-01T10:00:00Z", "2026-12-01T11:00:00.250+01:00"; 't' or a space may
// separate date and time) or Unix milliseconds (digits only) → Unix milliseconds.
Result<std::int64_t> ParseAsOf(std::string_view text);

using ::polder::FormatRfc3339;  // the other direction (proto/time_text.h)

}  // namespace polder::cli
