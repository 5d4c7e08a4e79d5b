// Points in time typed by a person: `--as-of 2026-12-01T10:00:00Z` or `--as-of 1795000000000`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/result.h"

namespace polder::cli {

// RFC 3339 ("2026-12-01T10:00:00Z", "2026-12-01T11:00:00.250+01:00"; 't' or a space may
// separate date and time) or Unix milliseconds (digits only) → Unix milliseconds.
Result<std::int64_t> ParseAsOf(std::string_view text);

// Unix milliseconds → RFC 3339 in UTC, with milliseconds only when not zero:
// "2026-12-01T10:00:00Z", "2026-12-01T10:00:00.250Z".
std::string FormatRfc3339(std::int64_t ms);

}  // namespace polder::cli
