#include "storage/event_log.h"

#include "storage/db.h"
#include "storage/rulebook/sign.h"

namespace polder::storage {

Result<AuthorHead> EventLog::VectorOf(const MemberKey& author,
                                      std::map<std::uint64_t, EventId>* beyond) {
  return Guard([&]() -> Result<AuthorHead> {
    AuthorHead head;
    SQLite::Statement st(db_.raw(),
                         "SELECT seq, min(id) FROM events WHERE author = ? GROUP BY seq"
                         " ORDER BY seq");
    Bind(st, 1, author.view());
    bool gap = false;
    while (st.executeStep()) {
      const auto seq = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
      if (gap || seq != head.seq + 1) {
        gap = true;  // held beyond a gap: not part of the run 1..seq
        if (beyond) (*beyond)[seq] = ToId<EventId>(st.getColumn(1));
        continue;
      }
      head.seq = seq;
      head.id = ToId<EventId>(st.getColumn(1));
    }
    SQLite::Statement f(db_.raw(), "SELECT 1 FROM forks WHERE author = ?");
    Bind(f, 1, author.view());
    head.forked = f.executeStep();
    return head;
  });
}

Result<VersionVector> EventLog::Vector(BeyondGap* beyond) {
  return Guard([&]() -> Result<VersionVector> {
    VersionVector v;
    SQLite::Statement st(db_.raw(),
                         "SELECT author, seq, min(id) FROM events GROUP BY author, seq"
                         " ORDER BY author, seq");
    MemberKey current{};
    bool first = true;
    AuthorHead* head = nullptr;
    bool gap = false;
    while (st.executeStep()) {
      const auto author = ToId<MemberKey>(st.getColumn(0));
      if (first || author != current) {
        first = false;
        current = author;
        head = &v.heads[author];
        gap = false;
      }
      const auto seq = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
      if (gap || seq != head->seq + 1) {
        gap = true;  // held beyond a gap: not part of the run 1..seq
        if (beyond) (*beyond)[author][seq] = ToId<EventId>(st.getColumn(2));
        continue;
      }
      head->seq = seq;
      head->id = ToId<EventId>(st.getColumn(2));
    }
    // An author whose first event is missing holds nothing in the vector's sense.
    std::erase_if(v.heads, [](const auto& kv) { return kv.second.seq == 0; });
    SQLite::Statement f(db_.raw(), "SELECT author FROM forks");
    while (f.executeStep()) {
      auto it = v.heads.find(ToId<MemberKey>(f.getColumn(0)));
      if (it != v.heads.end()) it->second.forked = true;
    }
    return v;
  });
}

Result<VersionVector> EventLog::VectorAt(std::int64_t cutoff_ms) {
  return Guard([&]() -> Result<VersionVector> {
    VersionVector v;
    // `ts` is the row of min(id)'s (SQLite takes a bare column from the row min() chose).
    SQLite::Statement st(db_.raw(),
                         "SELECT author, seq, min(id), ts FROM events GROUP BY author, seq"
                         " ORDER BY author, seq");
    std::map<MemberKey, EventId> first;  // each author's event at seq 1 (for a fork report)
    MemberKey current{};
    bool started = false, done = false;
    AuthorHead* head = nullptr;
    while (st.executeStep()) {
      const auto author = ToId<MemberKey>(st.getColumn(0));
      if (!started || author != current) {
        started = true;
        current = author;
        head = &v.heads[author];
        done = false;
      }
      const auto seq = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
      if (seq == 1) first[author] = ToId<EventId>(st.getColumn(2));
      // Past a gap or the cut-off: not named (timestamps rise along a log).
      if (done || seq != head->seq + 1 || st.getColumn(3).getInt64() > cutoff_ms) {
        done = true;
        continue;
      }
      head->seq = seq;
      head->id = ToId<EventId>(st.getColumn(2));
    }
    SQLite::Statement f(db_.raw(), "SELECT author FROM forks");
    while (f.executeStep()) {
      const auto author = ToId<MemberKey>(f.getColumn(0));
      auto it = v.heads.find(author);
      auto one = first.find(author);
      if (it == v.heads.end() || one == first.end()) continue;
      it->second.forked = true;
      if (it->second.seq == 0) it->second = {1, one->second, true};
    }
    std::erase_if(v.heads, [](const auto& kv) { return kv.second.seq == 0; });
    return v;
  });
}

Result<EventPage> EventLog::Read(const EventCursor& cursor, std::size_t max_events,
                                 std::size_t max_bytes,
                                 const std::function<bool(const MemberKey&, std::uint64_t)>& skip,
                                 std::size_t max_rows) {
  return Guard([&]() -> Result<EventPage> {
    EventPage page;
    page.next = cursor;
    ResetOnExit reset{db_};
    auto full = [&] { return page.events.size() >= max_events || page.bytes >= max_bytes; };
    // Reads rows until the page is full or the statement ends; returns how many it read.
    auto take = [&](SQLite::Statement& st) {
      std::int64_t rows = 0;
      while (!full() && st.executeStep()) {
        ++rows;
        page.next.last = st.getColumn(4).getInt64();
        const auto author = ToId<MemberKey>(st.getColumn(0));
        const auto seq = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
        if (skip && skip(author, seq)) continue;
        page.events.push_back(rulebook::Envelope(Blob(st.getColumn(2)), Blob(st.getColumn(3))));
        page.bytes += page.events.back().size();
        page.keys.emplace_back(author, seq);
      }
      return rows;
    };
    constexpr std::int64_t kRowsPerQuery = 4096;
    std::size_t examined = 0;
    while (!full() && examined < max_rows) {
      const bool applied = !page.next.applied_done;
      auto& st = db_.Q(applied ? "SELECT author, seq, body, sig, apply_order FROM events"
                                 " WHERE state = 1 AND apply_order > ? ORDER BY apply_order"
                                 " LIMIT ?"
                               : "SELECT author, seq, body, sig, rowid FROM events"
                                 " WHERE state <> 1 AND rowid > ? ORDER BY rowid LIMIT ?");
      st.bind(1, page.next.last);
      const std::int64_t limit =
          static_cast<std::int64_t>(std::min<std::size_t>(kRowsPerQuery, max_rows - examined));
      st.bind(2, limit);
      const std::int64_t rows = take(st);
      st.reset();
      examined += static_cast<std::size_t>(rows);
      if (full() || rows == limit) continue;  // the loop ends if full or at max_rows
      if (applied) {  // this phase is exhausted: on to the events not applied
        page.next.applied_done = true;
        page.next.last = 0;
        continue;
      }
      page.end = true;
      break;
    }
    return page;
  });
}

Result<std::vector<Bytes>> EventLog::ForkProof(const MemberKey& author) {
  return Guard([&]() -> Result<std::vector<Bytes>> {
    std::vector<Bytes> out;
    EventId a, b;
    {
      ResetOnExit reset{db_};
      auto& f = db_.Q("SELECT event_a, event_b FROM forks WHERE author = ?");
      Bind(f, 1, author.view());
      if (!f.executeStep()) return out;
      a = ToId<EventId>(f.getColumn(0));
      b = ToId<EventId>(f.getColumn(1));
    }
    for (const auto& id : {a, b}) {
      auto ev = EventBytes(id);
      if (!ev) return Unexpected<Error>{ev.error()};
      if (*ev) out.push_back(std::move(**ev));
    }
    return out;
  });
}

Result<std::vector<Bytes>> EventLog::EventsOf(const MemberKey& author, std::uint64_t from_seq,
                                              std::size_t max) {
  return Guard([&]() -> Result<std::vector<Bytes>> {
    std::vector<Bytes> out;
    ResetOnExit reset{db_};
    auto& st = db_.Q(
        "SELECT body, sig FROM events WHERE author = ? AND seq >= ? ORDER BY seq, id LIMIT ?");
    Bind(st, 1, author.view());
    st.bind(2, static_cast<std::int64_t>(std::min<std::uint64_t>(from_seq, 1ull << 62)));
    st.bind(3, static_cast<std::int64_t>(max));
    while (st.executeStep()) {
      out.push_back(rulebook::Envelope(Blob(st.getColumn(0)), Blob(st.getColumn(1))));
    }
    return out;
  });
}

Result<std::optional<Bytes>> EventLog::EventBytes(const EventId& id) {
  return Guard([&]() -> Result<std::optional<Bytes>> {
    ResetOnExit reset{db_};
    auto& st = db_.Q("SELECT body, sig FROM events WHERE idp = ? AND id = ?");
    st.bind(1, IdPrefix(id.view()));
    Bind(st, 2, id.view());
    if (!st.executeStep()) return std::optional<Bytes>();
    return std::optional<Bytes>(rulebook::Envelope(Blob(st.getColumn(0)), Blob(st.getColumn(1))));
  });
}

Status EventLog::ForEachEvent(const std::function<Status(ByteView)>& sink) {
  return Guard([&]() -> Status {
    SQLite::Statement st(db_.raw(),
                         "SELECT body, sig FROM events ORDER BY state DESC, apply_order, rowid");
    while (st.executeStep()) {
      const Bytes env = rulebook::Envelope(Blob(st.getColumn(0)), Blob(st.getColumn(1)));
      if (Status s = sink(env); !s) return s;
    }
    return {};
  });
}

Status EventLog::ForEachBody(const std::function<Status(const EventId&, ByteView)>& sink) {
  return Guard([&]() -> Status {
    SQLite::Statement st(db_.raw(), "SELECT id, body FROM events ORDER BY rowid");
    while (st.executeStep()) {
      const auto id = ToId<EventId>(st.getColumn(0));
      const auto body = st.getColumn(1);
      const ByteView view(static_cast<const std::uint8_t*>(body.getBlob()),
                          static_cast<std::size_t>(body.getBytes()));
      if (Status s = sink(id, view); !s) return s;
    }
    return {};
  });
}

Status EventLog::ForEachState(const std::function<void(const StoredEventState&)>& sink) {
  return Guard([&]() -> Status {
    SQLite::Statement st(
        db_.raw(),
        "SELECT id, author, seq, state, void_code IS NOT NULL,"
        " waiting_for = X'46', waiting_for IS NOT NULL FROM events ORDER BY rowid");
    while (st.executeStep()) {
      StoredEventState s;
      s.id = ToId<EventId>(st.getColumn(0));
      s.author = ToId<MemberKey>(st.getColumn(1));
      s.seq = static_cast<std::uint64_t>(st.getColumn(2).getInt64());
      if (st.getColumn(3).getInt() == 1) {
        s.state = st.getColumn(4).getInt()   ? EventState::kVoid
                  : st.getColumn(6).getInt() ? EventState::kAwaiting
                                             : EventState::kApplied;
      } else {
        s.state = st.getColumn(5).getInt() ? EventState::kFrozen : EventState::kPending;
      }
      sink(s);
    }
    return {};
  });
}

Result<std::vector<AwaitingEvent>> EventLog::AwaitingOf(const MemberKey& author, std::size_t max) {
  return Guard([&]() -> Result<std::vector<AwaitingEvent>> {
    std::vector<AwaitingEvent> out;
    ResetOnExit reset{db_};
    {
      auto& st = db_.Q(
          "SELECT id, seq, kind, waiting_for FROM events WHERE author = ? AND state = 1"
          " AND waiting_for IS NOT NULL ORDER BY seq LIMIT ?");
      Bind(st, 1, author.view());
      st.bind(2, static_cast<std::int64_t>(max));
      while (st.executeStep()) {
        const std::string key = Blob(st.getColumn(3));
        auto awaited = EventId::FromBytes(AsBytes(key));
        if (!awaited) continue;  // (an awaited key is always an event id)
        AwaitingEvent a;
        a.id = ToId<EventId>(st.getColumn(0));
        a.seq = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
        a.kind = st.getColumn(2).getInt();
        a.awaited = *awaited;
        out.push_back(a);
      }
    }
    for (auto& a : out) {
      auto& st = db_.Q(
          "SELECT e.author, e.state, e.waiting_for = X'46',"
          " (SELECT f.seq FROM forks f WHERE f.author = e.author)"
          " FROM events e WHERE e.idp = ? AND e.id = ?");
      st.bind(1, IdPrefix(a.awaited.view()));
      Bind(st, 2, a.awaited.view());
      if (st.executeStep()) {
        a.awaited_author = ToId<MemberKey>(st.getColumn(0));
        const bool placed = st.getColumn(1).getInt() == 1;
        if (placed) {
          a.why = AwaitingEvent::Why::kAwaiting;
        } else if (st.getColumn(2).getInt() == 1) {
          a.why = AwaitingEvent::Why::kFrozen;
          a.fork_seq = static_cast<std::uint64_t>(st.getColumn(3).getInt64());
        } else {
          a.why = AwaitingEvent::Why::kPending;
        }
      }
      st.reset();
    }
    return out;
  });
}

Result<ReplicaCounts> EventLog::Counts() {
  return Guard([&]() -> Result<ReplicaCounts> {
    ReplicaCounts c;
    SQLite::Statement st(db_.raw(),
                         "SELECT count(*), coalesce(sum(state = 1), 0),"
                         " coalesce(sum(state = 0 AND waiting_for = X'46'), 0),"
                         " coalesce(sum(state = 1 AND waiting_for IS NOT NULL), 0) FROM events");
    st.executeStep();
    c.events = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
    c.applied = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
    c.frozen = static_cast<std::uint64_t>(st.getColumn(2).getInt64());
    c.pending = c.events - c.applied - c.frozen;
    c.awaiting = static_cast<std::uint64_t>(st.getColumn(3).getInt64());
    c.forked_authors =
        static_cast<std::uint64_t>(db_.raw().execAndGet("SELECT count(*) FROM forks").getInt64());
    return c;
  });
}

}  // namespace polder::storage
