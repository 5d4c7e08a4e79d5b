// The replica's SQLite schema and its numbered migrations (keyed by PRAGMA user_version).
#pragma once

#include <span>
#include <string_view>

namespace polder::storage {

// Migration i (0-based) brings a database from user_version i to i + 1. Never edit a released
// migration; append a new one.
std::span<const std::string_view> Migrations();

}  // namespace polder::storage
