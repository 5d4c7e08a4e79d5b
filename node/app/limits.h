// Tunables of node/app, with their units in their names.
#pragma once

#include <cstdint>

namespace polder::app {

// A running node logs its catch-up progress this often while peers hold what it lacks: often
// enough to show it is moving, rarely enough to stay readable in a terminal.
inline constexpr int kCatchUpLogIntervalSeconds = 2;
// "caught up" is logged at info level for catch-ups of at least this many events (or that lasted
// a progress interval); the one-event catch-ups of ordinary gossip log at debug.
inline constexpr std::uint64_t kCatchUpLogMinEvents = 100;

}  // namespace polder::app
