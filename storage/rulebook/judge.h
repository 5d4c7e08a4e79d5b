// The stateful rules of the ingest gate: what an event does, given what is applied
// (docs/protocol.md §4–§5). One rulebook, followed by the SQLite replica when it ingests and
// rebuilds, and by node/decide's Fold when it computes a circle's state from a set of events.
//
// An event's *place* in its author's log depends on its author alone: it is placed once its
// author is admitted (a device: once the member its claim names has linked it) and its
// predecessor is the author's placed head. A device's events act for its member. Its *effect*
// depends on what it refers to: it waits, placed ("awaiting"), until the referenced events have
// taken effect. So nothing another member signs — a fork, an event never published — can hold up a
// member's log: at worst one of their events counts for nothing.
//
// The applied set is the least fixpoint of these rules, and so is the effective set. An event
// that breaks a rule depending on other events is void — placed (the log stays linear; a second
// event at that seq is still an equivocation) but without effect — rather than refused, so that
// whether a rule is broken can never depend on arrival order. Two different events at one
// (author, seq) freeze the author's log from the lowest such seq: nothing of it is placed from
// there on.
//
// Pure: no storage, clock or I/O. Thread-safety: as safe as the State given.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "polder/v1/event.pb.h"
#include "proto/bytes.h"
#include "storage/rulebook/refusal.h"
#include "storage/rulebook/state.h"

namespace polder::rulebook {

// The version of these rules. It changes whenever a rule changes what an event does; a replica
// whose derived state was computed under another version rebuilds it from its events when it
// opens. 1: the rules before placement and effect were told apart; 2: an event is placed without
// waiting for what it refers to, and a delegation takes effect whoever its delegate is; 3: the
// circle id names its charter, nothing else at the founder's seq 1 is of the circle, and forks
// count from the charter on; 4: devices (a member's link, a device's claim, revocations), and a
// member's latest act across their logs by (timestamp, signing key, seq); 5: a seal names the id
// of each head it covers (a seal without them is malformed); 6: decision rules list the circle's
// organisations (a list naming one twice, or over kMaxOrganisations, is malformed); 7: removals
// (the Removal payload; decision rules with a removal share over 10000 are malformed), network
// key rotations, and paged seals (a seal with a part number out of range is malformed); 8: the
// late-flag window (decision rules with one below 0 or over kMaxLateFlagWindowMs are malformed);
// 9: seal bases (a seal's base that is not a 32-byte id is malformed); 10: founding partners in
// the charter (a list out of order, naming the founder or an unlisted organisation is a bad
// charter), members from the charter on and the first round's committee.
inline constexpr std::int64_t kRulesVersion = 10;

// What a waiting event waits for. It is judged again when that arrives (and may then wait for
// something else).
struct Awaited {
  enum class What {
    kNothing,
    kFork,       // never: its author forked at or before its seq (frozen)
    kAdmission,  // `key` (the author's member key) to be admitted
    kEvent,      // `key` (an event id: the previous event in the log, or a referenced one)
  };
  What what = What::kNothing;
  std::array<std::uint8_t, 32> key{};
  const char* label = "";  // kEvent/kAdmission: what the key is, in words ("proposal", ...)
  std::uint64_t seq = 0;   // kEvent for the previous event in the log: its seq
};

struct Verdict {
  enum class Kind {
    kApply,   // takes effect
    kVoid,    // takes its place in its author's log without effect; `refusal` says which rule
    kAwait,   // takes its place in its author's log; its effect waits for `awaited` (an event it
              // refers to), and JudgeEffect() decides it once that has taken effect
    kWait,    // cannot take its place yet (its author is not admitted, or its predecessor is not
              // placed); `awaited` says why
    kRefuse,  // cannot be stored at all (only for input the stateless rules already refuse)
  };
  Kind kind = Kind::kApply;
  std::optional<Refusal> refusal;  // kVoid, kRefuse
  Awaited awaited;                 // kWait, kAwait
  // kApply of a charter or an admission: whether its member record (name, organisation, role,
  // leader) stands for the member from now on — true for a first admission, for an admission
  // whose event id is smaller than the standing record's, and for the charter; never for an
  // admission of the founder.
  bool member_record = false;
};

// Judges `body` (author `author`, id `id`, already through Decode or CheckBody) against `state`.
Verdict Judge(const EventId& id, const MemberKey& author, const v1::EventBody& body, State& state);

// The effect of an event already placed whose effect awaited something (Judge said kAwait):
// kApply, kVoid, or kAwait again (`awaited` then says for what).
Verdict JudgeEffect(const EventId& id, const MemberKey& author, const v1::EventBody& body,
                    State& state);

// The waiting reason in words, for people ("previous event 0a1b2c3d4e5f (seq 4) not yet held").
std::string Describe(const Awaited& awaited);

// What other events may be waiting for that placing this event, or its taking effect (or being
// voided), provides: its id (to the next event of its author's log, and to events that refer to
// it), for a charter or an effective admission the member key it admits, for an effective link
// the device it links, and for a device's claim the device itself.
std::vector<std::array<std::uint8_t, 32>> Unblocks(const EventId& id, const v1::EventBody& body,
                                                   bool effective);

// What an event arriving at (author, seq) is, given the ids already held at that (author, seq)
// and the author's fork seq if any. An event id is the hash of a body holding author and seq, so
// a held event with the same id is the same event.
enum class Arrival {
  kNew,           // nothing held there
  kDuplicate,     // held already
  kBeyondFork,    // at or beyond the author's fork: adds nothing (the log is frozen there)
  kEquivocation,  // another event is held there: the author forked at this seq (or lower)
};
Arrival Classify(const EventId& id, std::uint64_t seq, std::optional<std::uint64_t> fork_seq,
                 std::span<const EventId> held_at_seq);

}  // namespace polder::rulebook
