#include "storage/derived_state.h"

#include <cctype>
#include <functional>
#include <set>

#include "storage/db.h"
#include "storage/rulebook/kind.h"
#include "storage/rulebook/limits.h"

namespace polder::storage {

bool DerivedState::IsMember(const MemberKey& key) {
  try {
    ResetOnExit reset{db_};
    auto& st = db_.Q("SELECT 1 FROM members WHERE key = ?");
    Bind(st, 1, key.view());
    return st.executeStep();
  } catch (const SQLite::Exception&) {
    return false;
  }
}

std::optional<MemberKey> DerivedState::LinkedBy(const MemberKey& device) {
  try {
    ResetOnExit reset{db_};
    auto& st = db_.Q(
        "SELECT l.member FROM device_links l WHERE l.device = ?1 AND NOT EXISTS (SELECT 1 FROM"
        " device_acts r WHERE r.device = ?1 AND r.member = l.member AND r.last_seq IS NOT NULL)"
        " ORDER BY l.member");
    Bind(st, 1, device.view());
    if (!st.executeStep()) return std::nullopt;
    return ToId<MemberKey>(st.getColumn(0));
  } catch (const SQLite::Exception&) {
    return std::nullopt;
  }
}

bool DerivedState::MayConnect(const MemberKey& key) { return IsMember(key) || LinkedBy(key); }

Result<DerivedState::MembershipMark> DerivedState::Membership(std::int64_t now_ms) {
  return Guard([&]() -> Result<MembershipMark> {
    ResetOnExit reset{db_};
    auto& st = db_.Q(
        "SELECT (SELECT count(*) FROM admissions), (SELECT count(*) FROM members),"
        " (SELECT count(*) FROM device_links), (SELECT count(*) FROM device_acts),"
        " (SELECT count(*) FROM forks), (SELECT count(*) FROM removals),"
        " (SELECT count(*) FROM network_keys),"
        " (SELECT count(DISTINCT deadline_ms) FROM proposals WHERE deadline_ms < ?)");
    st.bind(1, static_cast<std::int64_t>(now_ms));
    st.executeStep();
    MembershipMark m;
    m.admissions = st.getColumn(0).getInt64();
    m.members = st.getColumn(1).getInt64();
    m.device_links = st.getColumn(2).getInt64();
    m.device_acts = st.getColumn(3).getInt64();
    m.forks = st.getColumn(4).getInt64();
    m.removals = st.getColumn(5).getInt64();
    m.network_keys = st.getColumn(6).getInt64();
    m.closed_deadlines = st.getColumn(7).getInt64();
    return m;
  });
}

Result<std::vector<DeviceRow>> DerivedState::DevicesOf(const MemberKey& member) {
  return Guard([&]() -> Result<std::vector<DeviceRow>> {
    std::vector<DeviceRow> out;
    SQLite::Statement st(
        db_.raw(),
        "SELECT l.device, d.head_seq, (SELECT min(r.last_seq) FROM device_acts r WHERE"
        " r.device = l.device AND r.member = l.member AND r.last_seq IS NOT NULL)"
        " FROM (SELECT DISTINCT device, member FROM device_links WHERE member = ?) l"
        " LEFT JOIN devices d ON d.key = l.device AND d.member = l.member ORDER BY l.device");
    Bind(st, 1, member.view());
    while (st.executeStep()) {
      DeviceRow r;
      r.device = ToId<MemberKey>(st.getColumn(0));
      r.claimed = !st.getColumn(1).isNull();
      r.head_seq = r.claimed ? static_cast<std::uint64_t>(st.getColumn(1).getInt64()) : 0;
      if (!st.getColumn(2).isNull()) {
        r.revoked_after = static_cast<std::uint64_t>(st.getColumn(2).getInt64());
      }
      out.push_back(r);
    }
    return out;
  });
}

Result<v1::Charter> DerivedState::Charter() {
  return Guard([&]() -> Result<v1::Charter> {
    SQLite::Statement st(db_.raw(),
                         "SELECT c.name, c.purpose, c.pool_minor, c.unit, c.decimals, c.rules,"
                         " m.name, m.organisation, m.role, m.formal_leader FROM charter c"
                         " JOIN members m ON m.key = c.founder");
    if (!st.executeStep()) return Fail(Errc::kNotFound, "this replica holds no charter yet");
    v1::Charter c;
    c.set_name(st.getColumn(0).getString());
    c.set_purpose(st.getColumn(1).getString());
    c.set_pool_minor(st.getColumn(2).getInt64());
    c.set_unit(st.getColumn(3).getString());
    c.set_decimals(static_cast<std::uint32_t>(st.getColumn(4).getInt()));
    c.mutable_rules()->ParseFromString(Blob(st.getColumn(5)));
    c.mutable_founder()->set_name(st.getColumn(6).getString());
    c.mutable_founder()->set_organisation(st.getColumn(7).getString());
    c.mutable_founder()->set_role(st.getColumn(8).getString());
    c.mutable_founder()->set_formal_leader(st.getColumn(9).getInt() != 0);
    return c;
  });
}

Result<OwnLogState> DerivedState::OwnLog(const MemberKey& author) {
  return Guard([&]() -> Result<OwnLogState> {
    OwnLogState s;
    ResetOnExit reset{db_};
    // A member's log, or a device's (one key, one log).
    auto& m = db_.Q(
        "SELECT head_seq, head_id, head_ts FROM members WHERE key = ?1"
        " UNION ALL SELECT head_seq, head_id, head_ts FROM devices WHERE key = ?1 LIMIT 1");
    Bind(m, 1, author.view());
    if (m.executeStep()) {
      s.head_seq = static_cast<std::uint64_t>(m.getColumn(0).getInt64());
      if (!m.getColumn(1).isNull()) s.head_id = ToId<EventId>(m.getColumn(1));
      s.head_ts = m.getColumn(2).getInt64();
    }
    auto& mx = db_.Q("SELECT coalesce(max(seq), 0) FROM events WHERE author = ?");
    Bind(mx, 1, author.view());
    mx.executeStep();
    s.max_seen_seq = static_cast<std::uint64_t>(mx.getColumn(0).getInt64());
    auto& f = db_.Q("SELECT 1 FROM forks WHERE author = ?");
    Bind(f, 1, author.view());
    s.forked = f.executeStep();
    return s;
  });
}

Result<std::vector<std::int64_t>> DerivedState::DeadlinesToSeal(
    const MemberKey& member, std::int64_t up_to_ms, std::size_t max,
    const std::vector<std::int64_t>& windows) {
  return Guard([&]() -> Result<std::vector<std::int64_t>> {
    std::set<std::int64_t, std::greater<>> due;
    SQLite::Statement st(
        db_.raw(),
        "SELECT DISTINCT p.deadline_ms FROM proposals p WHERE p.deadline_ms <= ?"
        " AND NOT EXISTS (SELECT 1 FROM seals s WHERE s.deadline_ms = p.deadline_ms"
        " AND s.author = ?) ORDER BY p.deadline_ms DESC LIMIT ?");
    st.bind(1, static_cast<std::int64_t>(up_to_ms));
    Bind(st, 2, member.view());
    st.bind(3, static_cast<std::int64_t>(max));
    while (st.executeStep()) due.insert(st.getColumn(0).getInt64());
    for (const std::int64_t w : windows) {
      if (w <= 0 || w > rulebook::kMaxLateFlagWindowMs) continue;
      SQLite::Statement late(
          db_.raw(),
          "SELECT DISTINCT p.deadline_ms + ?1 FROM proposals p WHERE p.deadline_ms <= ?2 - ?1"
          " AND EXISTS (SELECT 1 FROM flags f WHERE f.proposal = p.id"
          " AND f.created_ms > p.deadline_ms - ?1 AND f.created_ms <= p.deadline_ms)"
          " AND NOT EXISTS (SELECT 1 FROM seals s WHERE s.deadline_ms = p.deadline_ms + ?1"
          " AND s.author = ?3) ORDER BY p.deadline_ms DESC LIMIT ?4");
      late.bind(1, w);
      late.bind(2, static_cast<std::int64_t>(up_to_ms));
      Bind(late, 3, member.view());
      late.bind(4, static_cast<std::int64_t>(max));
      while (late.executeStep()) due.insert(late.getColumn(0).getInt64());
    }
    std::vector<std::int64_t> out(due.begin(), due.end());
    if (out.size() > max) out.resize(max);
    return out;
  });
}

Result<std::set<std::int64_t>> DerivedState::LateFlagWindows() {
  return Guard([&]() -> Result<std::set<std::int64_t>> {
    std::set<std::int64_t> out;
    SQLite::Statement st(db_.raw(),
                         "SELECT rules FROM charter UNION ALL"
                         " SELECT rules FROM proposals WHERE rules IS NOT NULL");
    while (st.executeStep()) {
      v1::DecisionRules rules;
      const auto blob = st.getColumn(0);
      if (rules.ParseFromArray(blob.getBlob(), blob.getBytes())) {
        out.insert(rules.late_flag_window_ms());
      }
    }
    return out;
  });
}

Result<std::vector<EventId>> DerivedState::RemovalsOf(const MemberKey& member) {
  return Guard([&]() -> Result<std::vector<EventId>> {
    std::vector<EventId> out;
    SQLite::Statement st(db_.raw(), "SELECT event FROM removals WHERE member = ? ORDER BY event");
    Bind(st, 1, member.view());
    while (st.executeStep()) out.push_back(ToId<EventId>(st.getColumn(0)));
    return out;
  });
}

Result<EventId> DerivedState::ResolvePrefix(std::string_view hex_prefix, std::string_view kind) {
  std::string prefix;
  for (char c : hex_prefix) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return Fail(Errc::kInvalidArgument,
                  "'" + std::string(hex_prefix) + "' is not a hex id prefix");
    }
    prefix.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (prefix.size() < 4) {
    return Fail(Errc::kInvalidArgument, "give at least 4 hex digits of the id");
  }
  if (prefix.size() > 64) return Fail(Errc::kInvalidArgument, "an id has 64 hex digits");
  const auto named = rulebook::KindNamed(kind);
  const int kind_number = named ? static_cast<int>(*named) : 0;
  // The ids starting with the prefix have their short key (events.idp, the first 8 bytes as a
  // signed integer) in one range: the prefix's first 16 digits padded with 0s, then with Fs (one
  // sign: the first digit is given). An index range, not a scan of every event.
  std::uint64_t lo = 0, hi = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = i < prefix.size() ? prefix[i] : '0';
    const unsigned d = static_cast<unsigned>(c <= '9' ? c - '0' : c - 'A' + 10);
    lo = lo << 4 | d;
    hi = hi << 4 | (i < prefix.size() ? d : 0xF);
  }
  return Guard([&]() -> Result<EventId> {
    SQLite::Statement st(db_.raw(),
                         "SELECT id FROM events WHERE idp BETWEEN ? AND ? AND state = 1"
                         " AND (? = 0 OR kind = ?) AND substr(hex(id), 1, ?) = ? LIMIT 2");
    st.bind(1, static_cast<std::int64_t>(lo));
    st.bind(2, static_cast<std::int64_t>(hi));
    st.bind(3, kind_number);
    st.bind(4, kind_number);
    st.bind(5, static_cast<int>(prefix.size()));
    st.bind(6, prefix);
    std::vector<EventId> hits;
    while (st.executeStep()) hits.push_back(ToId<EventId>(st.getColumn(0)));
    const std::string what = kind.empty() ? "event" : std::string(kind);
    if (hits.empty()) {
      return Fail(Errc::kNotFound, "no " + what + " with id starting " + std::string(hex_prefix));
    }
    if (hits.size() > 1) {
      return Fail(Errc::kInvalidArgument, "more than one " + what + " has an id starting " +
                                              std::string(hex_prefix) + "; give more digits");
    }
    return hits.front();
  });
}

}  // namespace polder::storage
