// Effects: what an applied event adds to the replica's derived tables (charter, members,
// admissions, proposals, votes, flags, resolutions, endorsements, comments, delegations, seals).
// Which events apply, and with or without effect, is the rulebook's decision
// (storage/rulebook/judge.h); this only records it. Internal to storage/.
//
// Why the derived state does not depend on arrival order: an author's events apply in sequence
// order, and a member's latest act across their devices' logs is kept by (timestamp, signing key,
// seq), which within one log is the seq order; facts across members are sets;
// a member admitted more than once keeps the record the rulebook says stands.
#pragma once

#include <optional>

#include "polder/v1/event.pb.h"
#include "storage/db.h"
#include "storage/rulebook/judge.h"

namespace polder::storage {

class Effects {
 public:
  explicit Effects(Db& db) : db_(db) {}

  // Records `body` (id `id`), which the rulebook judged kApply with `verdict`; `device_of` is
  // the member its author acts for when the author is a device.
  // REQUIRES: a write transaction.
  void Apply(const EventId& id, const v1::EventBody& body, const rulebook::Verdict& verdict,
             const std::optional<MemberKey>& device_of);
  // Empties every derived table (before a rebuild).
  void Clear();

 private:
  void PutMember(const std::string& key, const v1::MemberInfo& info, const EventId& event);
  void AddAdmission(const std::string& member, const EventId& event, const std::string& admitter);

  Db& db_;
};

}  // namespace polder::storage
