// DerivedState: questions about the circle's derived state that the node and the CLI ask —
// membership, a member's own log, the rounds a member has yet to seal, the charter, resolving an
// id prefix. Read-only; views for people are in storage/views.h.
//
// Thread-safety: not thread-safe; belongs to its Replica.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "polder/v1/event.pb.h"
#include "proto/bytes.h"

namespace polder::storage {

class Db;

struct OwnLogState {
  std::uint64_t head_seq = 0;  // applied head of this author's log
  std::optional<EventId> head_id;
  std::int64_t head_ts = 0;
  std::uint64_t max_seen_seq = 0;  // highest sequence of this author held in any state
  bool forked = false;
};

// A device a member linked (DevicesOf).
struct DeviceRow {
  MemberKey device;
  bool claimed = false;                        // its claim took its place: its log has begun
  std::uint64_t head_seq = 0;                  // its applied log
  std::optional<std::uint64_t> revoked_after;  // revoked: the last seq that counts
};

class DerivedState {
 public:
  explicit DerivedState(Db& db) : db_(db) {}

  // Whether an applied event admitted `key` (or `key` founded the circle).
  bool IsMember(const MemberKey& key);
  // The member who linked `device` (an applied link) and has not revoked it; nullopt otherwise.
  std::optional<MemberKey> LinkedBy(const MemberKey& device);
  // Whether `key` may take part in the circle's network: a member, or a device a member linked
  // and did not revoke (docs/protocol.md §5a, §13).
  bool MayConnect(const MemberKey& key);
  // What decides who is an eligible member, summed up (docs/protocol.md §6): it changes whenever
  // an admission, member, device link or revocation, fork, removal or network key is applied, or a
  // round closes (a rule change adopted then may change the admission rules). Equal marks: the same
  // answer.
  struct MembershipMark {
    std::int64_t admissions = 0, members = 0, device_links = 0, device_acts = 0, forks = 0;
    std::int64_t removals = 0, network_keys = 0, closed_deadlines = 0;
    bool operator==(const MembershipMark&) const = default;
  };
  Result<MembershipMark> Membership(std::int64_t now_ms);
  // The devices `member` linked, by key.
  Result<std::vector<DeviceRow>> DevicesOf(const MemberKey& member);
  // The charter as applied; kNotFound before it is.
  Result<v1::Charter> Charter();
  // What this replica holds of `author`'s own log.
  Result<OwnLogState> OwnLog(const MemberKey& author);
  // Funding rounds `member` has not sealed: distinct proposal deadlines at or before `up_to_ms`
  // with no applied seal by `member`, newest first, at most `max` (docs/protocol.md §15); and,
  // for each late-flag window in `windows`, deadline + window for proposals flagged less than the
  // window before their deadline (rounds a late flag may have moved them to; the tally says).
  Result<std::vector<std::int64_t>> DeadlinesToSeal(const MemberKey& member, std::int64_t up_to_ms,
                                                    std::size_t max,
                                                    const std::vector<std::int64_t>& windows = {});
  // The late-flag windows (DecisionRules.late_flag_window_ms, 0 for the default) of the charter
  // and of every rule-change proposal, adopted or not: a superset of those in force in any round.
  Result<std::set<std::int64_t>> LateFlagWindows();
  // The applied Removal events naming `member`, by id (what a node sends a member it no longer
  // accepts, so that its node learns why).
  Result<std::vector<EventId>> RemovalsOf(const MemberKey& member);
  // Resolves a unique hex prefix (4 to 64 digits) of an applied event id of `kind` (a word of
  // rulebook::KindName; "" for any kind).
  Result<EventId> ResolvePrefix(std::string_view hex_prefix, std::string_view kind);

 private:
  Db& db_;
};

}  // namespace polder::storage
