#include "storage/views.h"

#include "storage/db.h"

namespace polder::storage {
namespace {

// The SELECT of every proposal row (ProposalRow's columns, in order).
constexpr const char* kProposalSelect =
    "SELECT p.id, p.title, p.author, m.name, m.organisation, p.amount_minor, p.deadline_ms,"
    " p.withdrawn_event IS NOT NULL, p.topic, p.purpose_fit, p.body, p.created_ms,"
    " (SELECT count(*) FROM votes v WHERE v.proposal = p.id AND v.choice = 1),"
    " (SELECT count(*) FROM votes v WHERE v.proposal = p.id AND v.choice = 2),"
    " (SELECT count(*) FROM votes v WHERE v.proposal = p.id AND v.choice = 3),"
    " (SELECT count(*) FROM endorsements e WHERE e.proposal = p.id),"
    " (SELECT count(*) FROM flags f WHERE f.proposal = p.id AND NOT EXISTS"
    "   (SELECT 1 FROM resolutions r WHERE r.flag = f.id AND r.kind = 1))"
    " FROM proposals p JOIN members m ON m.key = p.author";

ProposalRow ReadProposal(SQLite::Statement& st) {
  ProposalRow p;
  p.id = ToId<EventId>(st.getColumn(0));
  p.title = st.getColumn(1).getString();
  p.author = MemberName{ToId<MemberKey>(st.getColumn(2)), st.getColumn(3).getString(),
                        st.getColumn(4).getString()};
  p.amount = Money(st.getColumn(5).getInt64());
  p.deadline_ms = st.getColumn(6).getInt64();
  p.withdrawn = st.getColumn(7).getInt() != 0;
  p.topic = st.getColumn(8).getString();
  p.purpose_fit = st.getColumn(9).getString();
  p.body = st.getColumn(10).getString();
  p.created_ms = st.getColumn(11).getInt64();
  p.votes_for = static_cast<std::uint32_t>(st.getColumn(12).getInt());
  p.votes_against = static_cast<std::uint32_t>(st.getColumn(13).getInt());
  p.votes_abstain = static_cast<std::uint32_t>(st.getColumn(14).getInt());
  p.endorsements = static_cast<std::uint32_t>(st.getColumn(15).getInt());
  p.open_flags = static_cast<std::uint32_t>(st.getColumn(16).getInt());
  return p;
}

}  // namespace

Result<std::vector<MemberRow>> Views::Members() {
  return Guard([&]() -> Result<std::vector<MemberRow>> {
    std::vector<MemberRow> out;
    SQLite::Statement st(
        db_.raw(),
        "SELECT m.key, m.name, m.organisation, m.role, m.formal_leader, m.head_seq,"
        " (SELECT count(*) FROM forks f WHERE f.author = m.key),"
        " (SELECT count(*) FROM charter c WHERE c.founder = m.key),"
        " (SELECT count(*) FROM charter c WHERE c.event = m.admit_event AND c.founder != m.key)"
        " FROM members m ORDER BY m.organisation, m.name, m.key");
    while (st.executeStep()) {
      MemberRow m;
      m.key = ToId<MemberKey>(st.getColumn(0));
      m.name = st.getColumn(1).getString();
      m.organisation = st.getColumn(2).getString();
      m.role = st.getColumn(3).getString();
      m.formal_leader = st.getColumn(4).getInt() != 0;
      m.head_seq = static_cast<std::uint64_t>(st.getColumn(5).getInt64());
      m.forked = st.getColumn(6).getInt() != 0;
      m.founder = st.getColumn(7).getInt() != 0;
      m.founding_partner = st.getColumn(8).getInt() != 0;
      out.push_back(std::move(m));
    }
    return out;
  });
}

Result<std::vector<ProposalRow>> Views::Proposals() {
  return Guard([&]() -> Result<std::vector<ProposalRow>> {
    std::vector<ProposalRow> out;
    SQLite::Statement st(db_.raw(), std::string(kProposalSelect) + " ORDER BY p.created_ms, p.id");
    while (st.executeStep()) out.push_back(ReadProposal(st));
    return out;
  });
}

Currency Views::CircleCurrency() {
  Currency c;
  try {
    ResetOnExit reset{db_};
    auto& st = db_.Q("SELECT decimals, unit FROM charter");
    if (st.executeStep()) {
      c.decimals = static_cast<std::uint32_t>(st.getColumn(0).getInt());
      c.unit = st.getColumn(1).getString();
    }
  } catch (const SQLite::Exception&) {
  }
  return c;
}

MemberName Views::NameOf(const MemberKey& key) {
  MemberName n{key, {}, {}};
  try {
    ResetOnExit reset{db_};
    auto& st = db_.Q("SELECT name, organisation FROM members WHERE key = ?");
    Bind(st, 1, key.view());
    if (st.executeStep()) {
      n.name = st.getColumn(0).getString();
      n.organisation = st.getColumn(1).getString();
    }
  } catch (const SQLite::Exception&) {
  }
  return n;
}

Result<FlagRow> Views::Flag(const EventId& id) {
  return Guard([&]() -> Result<FlagRow> {
    FlagRow f;
    SQLite::Statement st(db_.raw(),
                         "SELECT proposal, flagger, severity, category, rationale, created_ms FROM"
                         " flags WHERE id = ?");
    Bind(st, 1, id.view());
    if (!st.executeStep()) return Fail(Errc::kNotFound, "no flag " + id.hex());
    f.id = id;
    f.proposal = ToId<EventId>(st.getColumn(0));
    f.flagger = NameOf(ToId<MemberKey>(st.getColumn(1)));
    f.severity = static_cast<v1::Severity>(st.getColumn(2).getInt());
    f.category = st.getColumn(3).getString();
    f.rationale = st.getColumn(4).getString();
    f.created_ms = st.getColumn(5).getInt64();
    SQLite::Statement rs(db_.raw(),
                         "SELECT id, author, kind, mitigation FROM resolutions WHERE flag = ?"
                         " ORDER BY ts, id");
    Bind(rs, 1, id.view());
    while (rs.executeStep()) {
      ResolutionRow r;
      r.event = ToId<EventId>(rs.getColumn(0));
      r.author = NameOf(ToId<MemberKey>(rs.getColumn(1)));
      r.kind = static_cast<v1::FlagResolution::Kind>(rs.getColumn(2).getInt());
      r.mitigation = rs.getColumn(3).getString();
      f.resolutions.push_back(std::move(r));
    }
    return f;
  });
}

Result<ProposalDetail> Views::Proposal(const EventId& id) {
  return Guard([&]() -> Result<ProposalDetail> {
    ProposalDetail d;
    {
      SQLite::Statement st(db_.raw(), std::string(kProposalSelect) + " WHERE p.id = ?");
      Bind(st, 1, id.view());
      if (!st.executeStep()) return Fail(Errc::kNotFound, "no proposal " + id.hex());
      d.proposal = ReadProposal(st);
    }
    SQLite::Statement vs(db_.raw(),
                         "SELECT v.voter, m.name, m.organisation, v.choice, v.ts FROM votes v"
                         " JOIN members m ON m.key = v.voter WHERE v.proposal = ?"
                         " ORDER BY m.organisation, m.name");
    Bind(vs, 1, id.view());
    while (vs.executeStep()) {
      d.votes.push_back(
          VoteRow{MemberName{ToId<MemberKey>(vs.getColumn(0)), vs.getColumn(1).getString(),
                             vs.getColumn(2).getString()},
                  static_cast<v1::Choice>(vs.getColumn(3).getInt()), vs.getColumn(4).getInt64()});
    }
    std::vector<EventId> flags;
    {
      SQLite::Statement fs(db_.raw(),
                           "SELECT id FROM flags WHERE proposal = ? ORDER BY created_ms, id");
      Bind(fs, 1, id.view());
      while (fs.executeStep()) flags.push_back(ToId<EventId>(fs.getColumn(0)));
    }
    for (const auto& f : flags) {
      auto flag = Flag(f);
      if (!flag) return Unexpected<Error>{flag.error()};
      d.flags.push_back(std::move(*flag));
    }
    SQLite::Statement es(
        db_.raw(),
        "SELECT m.key, m.name, m.organisation FROM endorsements e JOIN members m"
        " ON m.key = e.member WHERE e.proposal = ? ORDER BY m.organisation, m.name");
    Bind(es, 1, id.view());
    while (es.executeStep()) {
      d.endorsers.push_back(MemberName{ToId<MemberKey>(es.getColumn(0)),
                                       es.getColumn(1).getString(), es.getColumn(2).getString()});
    }
    SQLite::Statement cs(
        db_.raw(), "SELECT id, author, text, ts FROM comments WHERE target = ? ORDER BY ts, id");
    Bind(cs, 1, id.view());
    while (cs.executeStep()) {
      d.comments.push_back(CommentRow{ToId<EventId>(cs.getColumn(0)),
                                      NameOf(ToId<MemberKey>(cs.getColumn(1))),
                                      cs.getColumn(2).getString(), cs.getColumn(3).getInt64()});
    }
    return d;
  });
}

}  // namespace polder::storage
