#include "storage/views.h"

#include "crypto/member_id.h"
#include "proto/words.h"
#include "storage/db.h"

namespace polder::storage {
std::string Views::FormatAmount(std::int64_t minor) {
  std::uint32_t decimals = 2;
  std::string unit;
  try {
    ResetOnExit reset{db_};
    auto& st = db_.Q("SELECT decimals, unit FROM charter");
    if (st.executeStep()) {
      decimals = static_cast<std::uint32_t>(st.getColumn(0).getInt());
      unit = st.getColumn(1).getString();
    }
  } catch (const SQLite::Exception&) {
  }
  const bool negative = minor < 0;
  std::uint64_t v =
      negative ? 0 - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  std::uint64_t scale = 1;
  for (std::uint32_t i = 0; i < decimals; ++i) scale *= 10;
  std::string whole = std::to_string(v / scale);
  std::string out = negative ? "-" + whole : whole;
  if (decimals > 0) {
    std::string frac = std::to_string(v % scale);
    out += "." + std::string(decimals - frac.size(), '0') + frac;
  }
  if (!unit.empty()) out += " " + unit;
  return out;
}

std::string Views::MemberLabel(const MemberKey& key) {
  try {
    ResetOnExit reset{db_};
    auto& st = db_.Q("SELECT name FROM members WHERE key = ?");
    Bind(st, 1, key.view());
    if (st.executeStep())
      return st.getColumn(0).getString() + " (" + crypto::Fingerprint(key) + ")";
  } catch (const SQLite::Exception&) {
  }
  return "(" + crypto::Fingerprint(key) + ")";
}

Result<v1::MemberList> Views::Members() {
  return Guard([&]() -> Result<v1::MemberList> {
    v1::MemberList list;
    SQLite::Statement st(
        db_.raw(),
        "SELECT m.key, m.name, m.organisation, m.role, m.formal_leader, m.head_seq,"
        " (SELECT count(*) FROM forks f WHERE f.author = m.key),"
        " (SELECT count(*) FROM charter c WHERE c.founder = m.key)"
        " FROM members m ORDER BY m.organisation, m.name, m.key");
    while (st.executeStep()) {
      auto* m = list.add_members();
      const auto key = ToId<MemberKey>(st.getColumn(0));
      m->set_member_id(crypto::FormatMemberId(key));
      m->set_fingerprint(crypto::Fingerprint(key));
      m->set_name(st.getColumn(1).getString());
      m->set_organisation(st.getColumn(2).getString());
      m->set_role(st.getColumn(3).getString());
      m->set_formal_leader(st.getColumn(4).getInt() != 0);
      m->set_head_seq(static_cast<std::uint64_t>(st.getColumn(5).getInt64()));
      m->set_forked(st.getColumn(6).getInt() != 0);
      m->set_founder(st.getColumn(7).getInt() != 0);
    }
    return list;
  });
}

namespace {

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

}  // namespace

Result<v1::ProposalList> Views::Proposals() {
  return Guard([&]() -> Result<v1::ProposalList> {
    v1::ProposalList list;
    SQLite::Statement st(db_.raw(), std::string(kProposalSelect) + " ORDER BY p.created_ms, p.id");
    while (st.executeStep()) {
      auto* p = list.add_proposals();
      p->set_proposal_id(ToHex(AsBytes(Blob(st.getColumn(0)))));
      p->set_title(st.getColumn(1).getString());
      const auto author = ToId<MemberKey>(st.getColumn(2));
      p->set_author(crypto::FormatMemberId(author));
      p->set_author_name(st.getColumn(3).getString());
      p->set_organisation(st.getColumn(4).getString());
      p->set_amount_minor(st.getColumn(5).getInt64());
      p->set_amount(FormatAmount(p->amount_minor()));
      p->set_deadline_ms(st.getColumn(6).getInt64());
      p->set_withdrawn(st.getColumn(7).getInt() != 0);
      p->set_topic(st.getColumn(8).getString());
      p->set_purpose_fit(st.getColumn(9).getString());
      p->set_body(st.getColumn(10).getString());
      p->set_created_ms(st.getColumn(11).getInt64());
      p->set_votes_for(static_cast<std::uint32_t>(st.getColumn(12).getInt()));
      p->set_votes_against(static_cast<std::uint32_t>(st.getColumn(13).getInt()));
      p->set_votes_abstain(static_cast<std::uint32_t>(st.getColumn(14).getInt()));
      p->set_endorsements(static_cast<std::uint32_t>(st.getColumn(15).getInt()));
      p->set_open_flags(static_cast<std::uint32_t>(st.getColumn(16).getInt()));
    }
    return list;
  });
}

Result<v1::FlagView> Views::ShowFlag(const EventId& id) {
  return Guard([&]() -> Result<v1::FlagView> {
    v1::FlagView f;
    SQLite::Statement st(db_.raw(),
                         "SELECT proposal, flagger, severity, category, rationale, created_ms FROM"
                         " flags WHERE id = ?");
    Bind(st, 1, id.view());
    if (!st.executeStep()) return Fail(Errc::kNotFound, "no flag " + id.hex());
    f.set_flag_id(id.hex());
    f.set_proposal_id(ToHex(AsBytes(Blob(st.getColumn(0)))));
    f.set_flagger(MemberLabel(ToId<MemberKey>(st.getColumn(1))));
    f.set_severity(SeverityWord(st.getColumn(2).getInt()));
    f.set_category(st.getColumn(3).getString());
    f.set_rationale(st.getColumn(4).getString());
    f.set_created_ms(st.getColumn(5).getInt64());
    SQLite::Statement rs(db_.raw(),
                         "SELECT id, author, kind, mitigation FROM resolutions WHERE flag = ?"
                         " ORDER BY ts, id");
    Bind(rs, 1, id.view());
    bool withdrawn = false;
    bool answered = false;
    while (rs.executeStep()) {
      auto* r = f.add_resolutions();
      r->set_event_id(ToHex(AsBytes(Blob(rs.getColumn(0)))));
      r->set_author(MemberLabel(ToId<MemberKey>(rs.getColumn(1))));
      const int kind = rs.getColumn(2).getInt();
      r->set_kind(kind == v1::FlagResolution::WITHDRAW ? "withdraw" : "answer");
      r->set_mitigation(rs.getColumn(3).getString());
      withdrawn |= kind == v1::FlagResolution::WITHDRAW;
      answered |= kind == v1::FlagResolution::ANSWER;
    }
    f.set_state(withdrawn ? "withdrawn" : answered ? "answered" : "open");
    return f;
  });
}

Result<v1::ProposalDetail> Views::ShowProposal(const EventId& id) {
  return Guard([&]() -> Result<v1::ProposalDetail> {
    v1::ProposalDetail d;
    auto list = Proposals();
    if (!list) return Unexpected<Error>{list.error()};
    bool found = false;
    for (const auto& p : list->proposals()) {
      if (p.proposal_id() == id.hex()) {
        *d.mutable_proposal() = p;
        found = true;
      }
    }
    if (!found) return Fail(Errc::kNotFound, "no proposal " + id.hex());
    SQLite::Statement vs(db_.raw(),
                         "SELECT v.voter, m.name, m.organisation, v.choice, v.ts FROM votes v"
                         " JOIN members m ON m.key = v.voter WHERE v.proposal = ?"
                         " ORDER BY m.organisation, m.name");
    Bind(vs, 1, id.view());
    while (vs.executeStep()) {
      auto* v = d.add_votes();
      v->set_voter(crypto::FormatMemberId(ToId<MemberKey>(vs.getColumn(0))));
      v->set_name(vs.getColumn(1).getString());
      v->set_organisation(vs.getColumn(2).getString());
      v->set_choice(ChoiceWord(vs.getColumn(3).getInt()));
      v->set_timestamp_ms(vs.getColumn(4).getInt64());
    }
    SQLite::Statement fs(db_.raw(),
                         "SELECT id FROM flags WHERE proposal = ? ORDER BY created_ms, id");
    Bind(fs, 1, id.view());
    while (fs.executeStep()) {
      auto flag = ShowFlag(ToId<EventId>(fs.getColumn(0)));
      if (flag) *d.add_flags() = *flag;
    }
    SQLite::Statement es(
        db_.raw(),
        "SELECT m.key, m.name, m.organisation FROM endorsements e JOIN members m"
        " ON m.key = e.member WHERE e.proposal = ? ORDER BY m.organisation, m.name");
    Bind(es, 1, id.view());
    while (es.executeStep()) {
      auto* m = d.add_endorsers();
      const auto key = ToId<MemberKey>(es.getColumn(0));
      m->set_member_id(crypto::FormatMemberId(key));
      m->set_fingerprint(crypto::Fingerprint(key));
      m->set_name(es.getColumn(1).getString());
      m->set_organisation(es.getColumn(2).getString());
    }
    SQLite::Statement cs(
        db_.raw(), "SELECT id, author, text, ts FROM comments WHERE target = ? ORDER BY ts, id");
    Bind(cs, 1, id.view());
    while (cs.executeStep()) {
      auto* c = d.add_comments();
      c->set_event_id(ToHex(AsBytes(Blob(cs.getColumn(0)))));
      c->set_author(MemberLabel(ToId<MemberKey>(cs.getColumn(1))));
      c->set_text(cs.getColumn(2).getString());
      c->set_timestamp_ms(cs.getColumn(3).getInt64());
    }
    return d;
  });
}

}  // namespace polder::storage
