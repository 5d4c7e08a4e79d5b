#include "storage/sql_state.h"

namespace polder::storage {

void SqlState::Reset() {
  has_charter_.reset();
  applied_.clear();
  heads_.clear();
  forks_.clear();
  auto& st = db_.Q("SELECT author, seq FROM forks");
  while (st.executeStep()) {
    forks_[ToId<MemberKey>(st.getColumn(0))] =
        static_cast<std::uint64_t>(st.getColumn(1).getInt64());
  }
}

bool SqlState::HasCharter() {
  if (!has_charter_) has_charter_ = db_.Q("SELECT 1 FROM charter").executeStep();
  return *has_charter_;
}

std::optional<std::uint64_t> SqlState::ForkSeq(const MemberKey& author) {
  auto it = forks_.find(author);
  if (it == forks_.end()) return std::nullopt;
  return it->second;
}

std::optional<rulebook::LogHead> SqlState::Head(const MemberKey& member) {
  if (auto it = heads_.find(member); it != heads_.end()) return it->second.head;
  auto& st = db_.Q("SELECT head_seq, head_id, head_ts FROM members WHERE key = ?");
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
      "SELECT m.admit_event, EXISTS (SELECT 1 FROM charter c WHERE c.founder = m.key)"
      " FROM members m WHERE m.key = ?");
  Bind(st, 1, member.view());
  if (!st.executeStep()) return std::nullopt;
  return rulebook::MemberRecord{ToId<EventId>(st.getColumn(0)), st.getColumn(1).getInt() != 0};
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
    auto& up = db_.Q("UPDATE members SET head_seq = ?, head_id = ?, head_ts = ? WHERE key = ?");
    up.bind(1, static_cast<std::int64_t>(h.head.seq));
    if (h.head.seq > 0) {
      Bind(up, 2, h.head.id.view());
    } else {
      up.bind(2);
    }
    up.bind(3, h.head.timestamp_ms);
    Bind(up, 4, author.view());
    up.exec();
    h.dirty = false;
  }
}

}  // namespace polder::storage
