#include "storage/sql_state.h"

namespace polder::storage {

namespace {

// Per revoked device: the seq after the lowest last_seq of a revocation signed by the member its
// claim names, at a seq below that member's fork if they forked (claims and revocations stored,
// whatever their state; docs/protocol.md §5a).
// (A macro: Db::Q caches statements by the address of their literal.)
#define POLDER_FREEZES                                                                        \
  "SELECT r.device, min(r.last_seq) + 1 FROM device_acts r WHERE r.last_seq IS NOT NULL"      \
  " AND EXISTS (SELECT 1 FROM device_acts c WHERE c.device = r.device AND c.last_seq IS NULL" \
  " AND c.member = r.member) AND NOT EXISTS (SELECT 1 FROM forks f WHERE f.author = r.signer" \
  " AND f.seq <= r.seq)"
constexpr const char* kAllFreezes = POLDER_FREEZES " GROUP BY r.device";
constexpr const char* kOneFreeze = POLDER_FREEZES " AND r.device = ? GROUP BY r.device";
#undef POLDER_FREEZES

}  // namespace

void SqlState::Reset() {
  has_charter_.reset();
  applied_.clear();
  heads_.clear();
  forks_.clear();
  freezes_.clear();
  device_of_.clear();
  auto& st = db_.Q("SELECT author, seq FROM forks");
  while (st.executeStep()) {
    forks_[ToId<MemberKey>(st.getColumn(0))] =
        static_cast<std::uint64_t>(st.getColumn(1).getInt64());
  }
  auto& fr = db_.Q(kAllFreezes);
  while (fr.executeStep()) {
    freezes_[ToId<MemberKey>(fr.getColumn(0))] =
        static_cast<std::uint64_t>(fr.getColumn(1).getInt64());
  }
}

std::optional<std::uint64_t> SqlState::ReloadFreeze(const MemberKey& device) {
  auto& st = db_.Q(kOneFreeze);
  Bind(st, 1, device.view());
  if (!st.executeStep()) {
    freezes_.erase(device);
    return std::nullopt;
  }
  const auto seq = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
  freezes_[device] = seq;
  return seq;
}

bool SqlState::HasCharter() {
  if (!has_charter_) has_charter_ = db_.Q("SELECT 1 FROM charter").executeStep();
  return *has_charter_;
}

std::optional<std::uint64_t> SqlState::ForkSeq(const MemberKey& author) {
  std::optional<std::uint64_t> out;
  if (auto it = forks_.find(author); it != forks_.end()) out = it->second;
  // Like forks, revocations count from the charter on (before it, what sits at the founder's
  // seq 1 may yet turn out not to be of the circle).
  if (!freezes_.empty() && HasCharter()) {
    if (auto it = freezes_.find(author); it != freezes_.end() && (!out || it->second < *out)) {
      out = it->second;
    }
  }
  return out;
}

std::optional<rulebook::LogHead> SqlState::Head(const MemberKey& member) {
  if (auto it = heads_.find(member); it != heads_.end()) return it->second.head;
  auto& st = db_.Q(
      "SELECT head_seq, head_id, head_ts FROM members WHERE key = ?1"
      " UNION ALL SELECT head_seq, head_id, head_ts FROM devices WHERE key = ?1 LIMIT 1");
  Bind(st, 1, member.view());
  if (!st.executeStep()) return std::nullopt;
  rulebook::LogHead h;
  h.seq = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
  if (!st.getColumn(1).isNull()) h.id = ToId<EventId>(st.getColumn(1));
  h.timestamp_ms = st.getColumn(2).getInt64();
  heads_.emplace(member, CachedHead{h, false});
  return h;
}

std::optional<rulebook::AppliedEvent> SqlState::Applied(const EventId& id) {
  if (auto it = applied_.find(id); it != applied_.end()) return it->second;
  auto& st = db_.Q(
      "SELECT kind, void_code IS NOT NULL, waiting_for IS NOT NULL FROM events"
      " WHERE idp = ? AND id = ? AND state = 1");
  st.bind(1, IdPrefix(id.view()));
  Bind(st, 2, id.view());
  if (!st.executeStep()) return std::nullopt;
  rulebook::AppliedEvent a;
  a.kind = static_cast<v1::EventBody::PayloadCase>(st.getColumn(0).getInt());
  a.is_void = st.getColumn(1).getInt() != 0;
  a.awaiting = st.getColumn(2).getInt() != 0;
  applied_.emplace(id, a);
  return a;
}

std::optional<MemberKey> SqlState::ProposalAuthor(const EventId& proposal) {
  auto& st = db_.Q("SELECT author FROM proposals WHERE id = ?");
  Bind(st, 1, proposal.view());
  if (!st.executeStep()) return std::nullopt;
  return ToId<MemberKey>(st.getColumn(0));
}

std::optional<rulebook::FlagParties> SqlState::PartiesOf(const EventId& flag) {
  auto& st = db_.Q(
      "SELECT f.flagger, p.author FROM flags f JOIN proposals p ON p.id = f.proposal "
      "WHERE f.id = ?");
  Bind(st, 1, flag.view());
  if (!st.executeStep()) return std::nullopt;
  return rulebook::FlagParties{ToId<MemberKey>(st.getColumn(0)), ToId<MemberKey>(st.getColumn(1))};
}

std::optional<rulebook::MemberRecord> SqlState::RecordOf(const MemberKey& member) {
  auto& st = db_.Q(
      "SELECT m.admit_event, EXISTS (SELECT 1 FROM charter c WHERE c.founder = m.key),"
      " EXISTS (SELECT 1 FROM charter c WHERE c.event = m.admit_event)"
      " FROM members m WHERE m.key = ?");
  Bind(st, 1, member.view());
  if (!st.executeStep()) return std::nullopt;
  return rulebook::MemberRecord{ToId<EventId>(st.getColumn(0)), st.getColumn(1).getInt() != 0,
                                st.getColumn(2).getInt() != 0};
}

bool SqlState::Linked(const MemberKey& member, const MemberKey& device) {
  auto& st = db_.Q("SELECT 1 FROM device_links WHERE device = ? AND member = ? LIMIT 1");
  Bind(st, 1, device.view());
  Bind(st, 2, member.view());
  return st.executeStep();
}

std::optional<MemberKey> SqlState::DeviceMember(const MemberKey& device) {
  // Asked for every event applied: answered from the cache after the first time per author (the
  // gate tells SetDeviceMember when a claim takes its place).
  if (auto it = device_of_.find(device); it != device_of_.end()) return it->second;
  auto& st = db_.Q("SELECT member FROM devices WHERE key = ?");
  Bind(st, 1, device.view());
  std::optional<MemberKey> member;
  if (st.executeStep()) member = ToId<MemberKey>(st.getColumn(0));
  device_of_.emplace(device, member);
  return member;
}

void SqlState::SetDeviceMember(const MemberKey& device, const MemberKey& member) {
  device_of_[device] = member;
}

void SqlState::SetHead(const MemberKey& author, const rulebook::LogHead& head) {
  heads_[author] = CachedHead{head, true};
}

void SqlState::SetApplied(const EventId& id, const rulebook::AppliedEvent& applied) {
  applied_[id] = applied;
}

void SqlState::SetFork(const MemberKey& author, std::uint64_t seq) { forks_[author] = seq; }

void SqlState::FlushHeads() {
  for (auto& [author, h] : heads_) {
    if (!h.dirty) continue;
    // A member's head, or else a device's (a key that is both keeps one log: both rows follow).
    static constexpr const char* kUpdates[] = {
        "UPDATE members SET head_seq = ?, head_id = ?, head_ts = ? WHERE key = ?",
        "UPDATE devices SET head_seq = ?, head_id = ?, head_ts = ? WHERE key = ?"};
    for (const char* sql : kUpdates) {
      auto& up = db_.Q(sql);
      up.bind(1, static_cast<std::int64_t>(h.head.seq));
      if (h.head.seq > 0) {
        Bind(up, 2, h.head.id.view());
      } else {
        up.bind(2);
      }
      up.bind(3, h.head.timestamp_ms);
      Bind(up, 4, author.view());
      up.exec();
    }
    h.dirty = false;
  }
}

}  // namespace polder::storage
