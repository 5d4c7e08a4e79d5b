// Fold: the circle's decision-relevant state, computed from a set of decoded events.
//
// Fold() follows the rulebook (storage/rulebook/judge.h, docs/protocol.md §4–§6) that the
// replica's ingest gate follows, over a plain set of events, so a tally computed from the result
// counts exactly the events the replica applies: an author's events apply in sequence order from
// seq 1 (an event beyond a gap or waiting for an event that is not in the set never applies, nor
// does anything after it in that log); only admitted members' events apply; two different events at
// one (author, seq) fork the author and freeze their log there; an event that breaks a rule needing
// other events (timestamp regression, wrong reference kind, withdrawing someone else's proposal,
// resolving a flag one may not resolve) is void: it takes its place in the log
// but has no effect; anything but the charter at the founder's seq 1 is not of the circle
// (kNotTheCharter, never a fork). The applied set is the least fixpoint of these rules, so it does
// not depend on the order of the input; every list in CircleState is sorted canonically (by ids,
// keys, sequence numbers), so the whole CircleState does not either. A device's log takes its
// place once the member its claim names has linked it, and its events act for that member; a
// revocation by that member freezes the device's log after the last seq it names, as a fork
// would (docs/protocol.md §5a).
//
// Pure: no clock, no I/O, no global state. Thread-safety: none needed (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node/decide/allocate.h"
#include "node/decide/decision_rules.h"
#include "polder/v1/event.pb.h"
#include "proto/bytes.h"
#include "proto/money.h"

namespace polder::decide {

// One decoded event: its id (BLAKE2b-256 of the signed body bytes) and its body.
struct FoldEvent {
  EventId id;
  v1::EventBody body;
};

// Every record of an act names the member who acted and, when one of their devices signed it, that
// device (`device`; nullopt: the member's own key). `seq` is then the device's.
struct AdmissionRecord {
  MemberKey admitter;
  std::uint64_t seq = 0;  // the admitter's (or their device's)
  std::int64_t timestamp_ms = 0;
  EventId event;
  std::optional<MemberKey> device;
  bool operator==(const AdmissionRecord&) const = default;
};

struct Member {
  MemberKey key;
  std::string name;
  std::string organisation;
  // Earliest timestamp of an applied event admitting them (the charter's for the founder).
  std::int64_t admitted_ms = 0;
  bool founder = false;
  // A founding partner: listed in the charter, a member from it on (rules version 10).
  bool partner = false;
  // Every applied Admit of this member, sorted by (timestamp, event id); empty for the founder
  // and the founding partners.
  std::vector<AdmissionRecord> admissions;
  // Lowest seq at which the member equivocated; their events from there on never apply.
  std::optional<std::uint64_t> fork_seq;
  bool forked() const { return fork_seq.has_value(); }
  bool operator==(const Member&) const = default;
};

struct VoteRecord {
  MemberKey voter;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  v1::Choice choice = v1::CHOICE_UNSPECIFIED;
  EventId event;
  std::optional<MemberKey> device;
  bool operator==(const VoteRecord&) const = default;
};

struct EndorsementRecord {
  MemberKey member;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  EventId event;
  std::optional<MemberKey> device;
  bool operator==(const EndorsementRecord&) const = default;
};

struct ResolutionRecord {
  EventId event;
  MemberKey author;
  std::uint64_t seq = 0;
  v1::FlagResolution::Kind kind = v1::FlagResolution::KIND_UNSPECIFIED;
  std::int64_t timestamp_ms = 0;
  std::optional<MemberKey> device;
  bool operator==(const ResolutionRecord&) const = default;
};

struct FlagRecord {
  EventId event;
  MemberKey flagger;
  std::uint64_t seq = 0;
  v1::Severity severity = v1::SEVERITY_UNSPECIFIED;
  std::string category;
  std::int64_t timestamp_ms = 0;
  std::optional<MemberKey> device;
  std::vector<ResolutionRecord> resolutions;  // sorted by (timestamp, event id)
  bool operator==(const FlagRecord&) const = default;
};

struct ProposalRecord {
  EventId event;
  MemberKey author;
  std::uint64_t seq = 0;
  std::string title;
  std::string topic;
  Money amount_minor;
  std::int64_t created_ms = 0;
  std::int64_t deadline_ms = 0;
  std::optional<MemberKey> device;
  // The author's earliest applied Withdraw (by timestamp, signing key, seq): its timestamp, seq
  // and device.
  std::optional<std::int64_t> withdrawn_ms;
  std::uint64_t withdrawn_seq = 0;
  std::optional<MemberKey> withdrawn_device;
  // A rule change: the rules (defaults filled in) that replace those in force once it passes.
  std::optional<Rules> rule_change;
  // Every applied vote and endorsement (not only the latest: the tally picks, per member, the
  // latest one timestamped before its cut-off). Sorted by member, then ActOrder.
  std::vector<VoteRecord> votes;
  std::vector<EndorsementRecord> endorsements;
  std::vector<FlagRecord> flags;  // sorted by (timestamp, event id)
  bool operator==(const ProposalRecord&) const = default;
};

struct DelegationRecord {
  MemberKey delegator;
  std::string topic;  // empty: all proposals
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  bool revoke = false;
  MemberKey delegate;  // zero when revoke
  EventId event;
  std::optional<MemberKey> device;
  bool operator==(const DelegationRecord&) const = default;
};

// One member's support for removing `member` (event.proto Removal; docs/protocol.md §15).
struct RemovalRecord {
  MemberKey member;   // the member (or key) to remove
  MemberKey remover;  // who signed it (the member a device acts for)
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  std::string reason;
  EventId event;
  std::optional<MemberKey> device;
  bool operator==(const RemovalRecord&) const = default;
};

// A network key rotation (event.proto NetworkKey): no decision depends on it; the node picks the
// circle's key from these (docs/protocol.md §11).
struct KeyRotationRecord {
  MemberKey author;  // the member (a device acts for its member)
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  EventId key_id;  // names the key (32 bytes, like an id)
  EventId event;
  std::optional<MemberKey> device;
  bool operator==(const KeyRotationRecord&) const = default;
};

// A seal (event.proto Seal): what its author held after a round's deadline.
// One entry of a seal: the sealer held `author`'s log up to `seq`, whose event there is `head`.
// `held`: that very event is placed here (so this node knows what the entry covers).
struct SealHead {
  MemberKey author;
  std::uint64_t seq = 0;
  EventId head;
  bool forked = false;  // the sealer held proof that `author` forked
  bool held = false;
  bool operator==(const SealHead&) const = default;
};

struct SealRecord {
  MemberKey author;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  std::int64_t deadline_ms = 0;
  EventId event;
  std::optional<MemberKey> device;
  std::vector<SealHead> heads;  // sorted by author
  // A part of a paged seal as signed (0 of 1 when not paged). In CircleState::seals a member's
  // own paged seal appears once, its parts merged: the first part's seq and event, the last
  // part's timestamp, every part's heads.
  std::uint32_t part = 0, parts = 1;
  // The seal it is based on (tally.h "Seals and finality"): the authors it does not list, other
  // than its own, count as that seal lists them. Every part of a paged seal names the same.
  std::optional<EventId> base;
  bool operator==(const SealRecord&) const = default;
};

// What one log holds here: the timestamps of its placed events, by seq (the prefix the fold
// placed, up to a gap, a fork or a revocation).
struct LogRecord {
  MemberKey key;
  std::vector<std::int64_t> timestamps;  // [i]: the event at seq i + 1
  bool operator==(const LogRecord&) const = default;
};

// Why an event in the input has no effect.
enum class Ignored {
  kWrongCircle,    // not the circle of the chosen charter
  kNotTheCharter,  // another event at the founder's seq 1 (the charter's place; never a fork)
  kNotMember,      // its author was never admitted by an applied event
  kPending,        // beyond a gap in its author's log
  kAwaiting,       // in its author's log, but refers to an event that never took effect here (not
                   // in the set, or at or beyond its author's fork): no effect
  kForked,         // at or beyond the seq where its author equivocated
  kRevoked,        // a device's event after the last seq its member's revocation lets count
  kVoid,           // applied in its author's log but breaks a rule (see the file comment)
};
const char* ToString(Ignored reason);

struct IgnoredEvent {
  EventId event;
  MemberKey author;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  v1::EventBody::PayloadCase kind = v1::EventBody::PAYLOAD_NOT_SET;
  std::optional<EventId> proposal;  // votes: the proposal voted on
  Ignored reason = Ignored::kPending;
  bool operator==(const IgnoredEvent&) const = default;
};

// A device whose claim took its place: its events act for `member` (docs/protocol.md §5a).
struct Device {
  MemberKey key;
  MemberKey member;
  EventId claim;
  // The device's log is frozen from here: a revocation (the seq after its last_seq) or a fork.
  std::optional<std::uint64_t> frozen_from;
  bool operator==(const Device&) const = default;
};

// The key that signed an act: the member's own or their device's.
template <class R>
const MemberKey& SignerOf(const MemberKey& member, const R& record) {
  return record.device ? *record.device : member;
}

// The order of one member's acts across their logs: timestamp, then signing key, then seq. Within
// one log it is the seq order (timestamps do not regress along a log).
inline bool ActBefore(std::int64_t ts_a, const MemberKey& signer_a, std::uint64_t seq_a,
                      std::int64_t ts_b, const MemberKey& signer_b, std::uint64_t seq_b) {
  if (ts_a != ts_b) return ts_a < ts_b;
  if (signer_a != signer_b) return signer_a < signer_b;
  return seq_a < seq_b;
}

// The canonical order of a proposal's votes: by voter, then ActBefore.
inline bool VoteBefore(const VoteRecord& a, const VoteRecord& b) {
  if (a.voter != b.voter) return a.voter < b.voter;
  return ActBefore(a.timestamp_ms, SignerOf(a.voter, a), a.seq, b.timestamp_ms,
                   SignerOf(b.voter, b), b.seq);
}

struct CircleState {
  bool has_charter = false;
  EventId charter_event;
  CircleId circle;
  MemberKey founder;
  std::string name;
  Money pool_minor;
  std::string unit;
  std::uint32_t decimals = 0;
  Rules rules;
  std::vector<Member> members;                  // sorted by key
  std::vector<ProposalRecord> proposals;        // sorted by event id
  std::vector<DelegationRecord> delegations;    // sorted by (delegator, topic), then ActBefore
  std::vector<SealRecord> seals;                // sorted by (deadline, author), then ActBefore
  std::vector<RemovalRecord> removals;          // sorted by ActBefore (remover's signing log)
  std::vector<KeyRotationRecord> network_keys;  // sorted by ActBefore
  std::vector<Device> devices;                  // sorted by key
  std::vector<LogRecord> logs;                  // every log with a placed event, sorted by key
  std::vector<IgnoredEvent> ignored;            // sorted by (author, seq, event id)

  const Member* FindMember(const MemberKey& key) const;  // nullptr when not a member
  const Device* FindDevice(const MemberKey& key) const;  // nullptr when not a device
  const LogRecord* FindLog(const MemberKey& key) const;  // nullptr when nothing placed
  const ProposalRecord* FindProposal(const EventId& id) const;
  // How the circle writes its money (the charter's unit and decimals), for FormatMoney.
  Currency currency() const { return {unit, decimals}; }
  bool operator==(const CircleState&) const = default;
};

// Folds `events` (any order; duplicates allowed) into the circle state. With several charters
// in the input, the circle is the one of the charter with the smallest event id; events of other
// circles are ignored (kWrongCircle). Never fails: what cannot apply is listed in `ignored`.
CircleState Fold(const std::vector<FoldEvent>& events);

}  // namespace polder::decide
