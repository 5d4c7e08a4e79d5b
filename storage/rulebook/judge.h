// The stateful rules of the ingest gate: what an event does, given what is applied
// (docs/protocol.md §4–§5). One rulebook, followed by the SQLite replica when it ingests and
// rebuilds, and by node/decide's Fold when it computes a circle's state from a set of events.
//
// The applied set is the least fixpoint of these rules: an event is applied once its author is
// admitted, its predecessor in the author's log is the author's applied head, and what it refers
// to is applied; it then stays applied. An event that breaks a rule depending on other events is
// void — applied in its author's log (the log stays linear; a second event at that seq is still
// an equivocation) but without effect — rather than refused, so that whether a rule is broken
// can never depend on arrival order. Two different events at one (author, seq) freeze the
// author's log from the lowest such seq: nothing of it applies from there on.
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

// What a waiting event waits for. It is judged again when that arrives (and may then wait for
// something else).
struct Awaited {
  enum class What {
    kNothing,
    kFork,       // never: its author forked at or before its seq (frozen)
    kAdmission,  // `key` (a member key: the author, or a delegate) to be admitted
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
    kWait,    // cannot be applied yet; `awaited` says why
    kRefuse,  // cannot be stored at all (only for input the stateless rules already refuse)
  };
  Kind kind = Kind::kApply;
  std::optional<Refusal> refusal;  // kVoid, kRefuse
  Awaited awaited;                 // kWait
  // kApply of a charter or an admission: whether its member record (name, organisation, role,
  // leader) stands for the member from now on — true for a first admission, for an admission
  // whose event id is smaller than the standing record's, and for the charter; never for an
  // admission of the founder.
  bool member_record = false;
};

// Judges `body` (author `author`, id `id`, already through Decode or CheckBody) against `state`.
Verdict Judge(const EventId& id, const MemberKey& author, const v1::EventBody& body, State& state);

// The waiting reason in words, for people ("previous event 0a1b2c3d4e5f (seq 4) not yet held").
std::string Describe(const Awaited& awaited);

// What other events may be waiting for that applying (effective or void) this event provides:
// its id, and for a charter or an effective admission the member key it admits.
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
