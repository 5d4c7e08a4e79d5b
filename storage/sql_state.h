// SqlState answers the rulebook's questions (storage/rulebook/state.h) from the replica's SQLite
// tables, with per-transaction caches: members' log heads (written back before commit), the kinds
// of applied events, and the forks. Internal to storage/.
//
// Thread-safety: not thread-safe; used inside the replica's write transactions.
#pragma once

#include <map>
#include <optional>
#include <unordered_map>

#include "storage/db.h"
#include "storage/rulebook/state.h"

namespace polder::storage {

class SqlState final : public rulebook::State {
 public:
  explicit SqlState(Db& db) : db_(db) {}

  // Forgets every cache (a new transaction, a rollback, a rebuild), then loads the forks.
  void Reset();

  bool HasCharter() override;
  std::optional<std::uint64_t> ForkSeq(const MemberKey& author) override;
  std::optional<rulebook::LogHead> Head(const MemberKey& member) override;
  std::optional<rulebook::AppliedEvent> Applied(const EventId& id) override;
  std::optional<MemberKey> ProposalAuthor(const EventId& proposal) override;
  std::optional<rulebook::FlagParties> PartiesOf(const EventId& flag) override;
  std::optional<rulebook::MemberRecord> RecordOf(const MemberKey& member) override;
  bool Linked(const MemberKey& member, const MemberKey& device) override;
  std::optional<MemberKey> DeviceMember(const MemberKey& device) override;

  // What the gate changes as it applies events.
  void SetHead(const MemberKey& author, const rulebook::LogHead& head);
  void SetApplied(const EventId& id, const rulebook::AppliedEvent& applied);
  void SetFork(const MemberKey& author, std::uint64_t seq);
  // A device's claim took its place: it acts for `member` from now on.
  void SetDeviceMember(const MemberKey& device, const MemberKey& member);
  // The lowest seq at which `author` signed two different events (ForkSeq without revocations).
  std::optional<std::uint64_t> EquivocationSeq(const MemberKey& author) const {
    auto it = forks_.find(author);
    return it == forks_.end() ? std::nullopt : std::optional(it->second);
  }
  // Revoked devices and the seq their log is frozen from (whether the charter is held or not).
  const std::map<MemberKey, std::uint64_t>& freezes() const { return freezes_; }
  // Reads again from device_acts the seq from which a device's revocation freezes its log;
  // returns it.
  std::optional<std::uint64_t> ReloadFreeze(const MemberKey& device);
  void SetHasCharter() { has_charter_ = true; }
  // Writes the heads changed since the last flush into the members table.
  void FlushHeads();

 private:
  struct CachedHead {
    rulebook::LogHead head;
    bool dirty = false;
  };

  Db& db_;
  std::optional<bool> has_charter_;
  // Applied events stay applied until a rebuild (which resets this), and the gate records an
  // awaiting event's effect here when it is decided, so a hit is always current.
  // Proposals are referenced by every vote, flag and comment on them: this saves an index probe
  // per such event.
  std::unordered_map<EventId, rulebook::AppliedEvent, Id32Hash> applied_;
  // Members only: a key that is not (yet) a member is not cached, since it may be admitted.
  std::unordered_map<MemberKey, CachedHead, Id32Hash> heads_;
  std::map<MemberKey, std::uint64_t> forks_;
  std::map<MemberKey, std::uint64_t> freezes_;  // revoked devices: the seq after the last counted
  // Per key asked about: the member it acts for when it is a device whose claim took its place,
  // nullopt otherwise (kept current by SetDeviceMember).
  std::unordered_map<MemberKey, std::optional<MemberKey>, Id32Hash> device_of_;
};

}  // namespace polder::storage
