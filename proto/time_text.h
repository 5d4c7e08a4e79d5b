// Points in time as people read them, the same on every node (UTC, no local clock or zone).
#pragma once

#include <cstdint>
#include <string>

namespace polder {

// Unix milliseconds → RFC 3339 in UTC, with milliseconds only when not zero:
// "2026-12-01T10:00:00Z", "2026-12-01T10:00:00.250Z".
std::string FormatRfc3339(std::int64_t ms);

}  // namespace polder
