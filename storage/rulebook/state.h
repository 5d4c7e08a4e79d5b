// The questions the stateful rules (rulebook/judge.h) ask of a circle's applied events. The SQLite
// replica (storage/) and the in-memory fold (node/decide) each answer them from their own
// representation, so both follow one rulebook and cannot drift apart.
//
// "Applied" means taken into its author's log ("placed"): effective, void (kept in the log
// without effect), or awaiting (placed, its effect waiting for an event it refers to). Events that
// wait for their place (pending) or sit at or beyond their author's fork (frozen) are not applied.
#pragma once

#include <cstdint>
#include <optional>

#include "polder/v1/event.pb.h"
#include "proto/bytes.h"

namespace polder::rulebook {

// An author's log as applied so far.
struct LogHead {
  std::uint64_t seq = 0;  // 0: admitted, nothing of theirs applied yet
  EventId id{};           // the applied event at `seq` (unset while seq is 0)
  std::int64_t timestamp_ms = 0;
};

// An applied event, as a reference to it sees it.
struct AppliedEvent {
  v1::EventBody::PayloadCase kind = v1::EventBody::PAYLOAD_NOT_SET;
  bool is_void = false;   // it took its place in its author's log without effect
  bool awaiting = false;  // it took its place; its effect waits for what it refers to
};

// Who may resolve a flag besides an override: the member who raised it (withdraw) and the
// proposer of the flagged proposal (answer), as members (a device acts for its member).
struct FlagParties {
  MemberKey flagger;
  MemberKey proposer;
};

// The admission whose record (name, organisation, role) stands for a member: the smallest
// admitting event id, or the charter for the founder and the founding partners.
struct MemberRecord {
  EventId event;
  bool founder = false;
  bool chartered = false;  // the founder or a founding partner: the charter's record stands
};

class State {
 public:
  virtual ~State() = default;
  // Whether a charter is applied.
  virtual bool HasCharter() = 0;
  // The lowest seq from which `author`'s log is frozen: where they signed two different events,
  // or, for a device, the seq after the last one its member's revocation lets count.
  virtual std::optional<std::uint64_t> ForkSeq(const MemberKey& author) = 0;
  // The head of `author`'s applied log; nullopt when no applied event admitted them (a member)
  // and their claim has not taken its place (a device).
  virtual std::optional<LogHead> Head(const MemberKey& author) = 0;
  // Whether `member` has linked `device` (an applied DeviceLink with effect, not a revocation).
  virtual bool Linked(const MemberKey& member, const MemberKey& device) = 0;
  // The member a device acts for, once the device's claim has taken its place; nullopt for
  // every other key.
  virtual std::optional<MemberKey> DeviceMember(const MemberKey& device) = 0;
  // The applied event with this id; nullopt when it is not applied (not held, pending, frozen).
  virtual std::optional<AppliedEvent> Applied(const EventId& id) = 0;
  // The member who made an applied, effective proposal (for a device's proposal, its member).
  virtual std::optional<MemberKey> ProposalAuthor(const EventId& proposal) = 0;
  // The parties of an applied, effective flag.
  virtual std::optional<FlagParties> PartiesOf(const EventId& flag) = 0;
  // The record that stands for an admitted member.
  virtual std::optional<MemberRecord> RecordOf(const MemberKey& member) = 0;
};

}  // namespace polder::rulebook
