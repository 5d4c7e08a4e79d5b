#include "node/cli/tally_cmd.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <thread>

#include "node/cli/amount.h"
#include "node/cli/as_of.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "node/decide/tally.h"
#include "storage/replica.h"
#include "storage/rulebook/decode.h"

namespace polder::cli {
namespace {

// Stored events passed the gate's clock rule when they arrived; reading them back must not
// apply it again (the reader's clock may be behind the writer's).
constexpr std::int64_t kNoClockLimitMs = std::numeric_limits<std::int64_t>::max() / 2;
// A running node may store events while we read; give up after this many changing reads.
constexpr int kMaxFoldAttempts = 5;

std::string Spaced(std::string word) {
  std::replace(word.begin(), word.end(), '_', ' ');
  return word;
}
std::string Label(const std::string& name, const std::string& key_hex) {
  return (name.empty() ? std::string("?") : name) + " (" + key_hex.substr(0, 8) + ")";
}

// --as-of, or now.
Result<std::int64_t> AsOfMs(const std::string& text) {
  if (text.empty()) return app::NowMs();
  return ParseAsOf(text);
}

// The tally at `as_of_ms` of the whole replica.
struct Tallied {
  FoldedReplica folded;
  decide::TallyResult result;
};
Result<Tallied> TallyReplica(storage::Replica& replica, std::int64_t as_of_ms) {
  auto folded = FoldReplica(replica);
  if (!folded) return Unexpected<Error>{folded.error()};
  if (!folded->state.has_charter) {
    return Fail(Errc::kInvalidArgument,
                "this replica holds no charter yet: create or join a circle first");
  }
  Tallied t{std::move(*folded), {}};
  t.result = decide::Tally(t.folded.state, as_of_ms);
  t.folded.provenance.as_of = FormatRfc3339(as_of_ms);
  return t;
}

// A proposal named by an id prefix, as `polder show` resolves it. An unknown id is refused
// input (exit 65), like an ambiguous or malformed one.
Result<EventId> ResolveProposal(storage::Replica& replica, const std::string& prefix) {
  return GivenId(replica.state().ResolvePrefix(prefix, "proposal"));
}

// ---- The tally table ---------------------------------------------------------------------------

// One column of `polder tally`. A new column (e.g. finality) is one more entry in kColumns.
struct Column {
  const char* header;
  std::string (*cell)(const v1::ProposalOutcomeView& p);
};

const Column kColumns[] = {
    {"ID", [](const v1::ProposalOutcomeView& p) { return Short(p.proposal_id()); }},
    {"TITLE", [](const v1::ProposalOutcomeView& p) { return p.title(); }},
    {"ORG", [](const v1::ProposalOutcomeView& p) { return p.organisation(); }},
    {"AMOUNT", [](const v1::ProposalOutcomeView& p) { return p.amount(); }},
    {"STATUS", [](const v1::ProposalOutcomeView& p) { return Spaced(p.status()); }},
    {"REASON", [](const v1::ProposalOutcomeView& p) { return Spaced(p.reason()); }},
    {"FINALITY", [](const v1::ProposalOutcomeView& p) { return p.finality(); }},
    {"FOR/AGAINST/ABST",
     [](const v1::ProposalOutcomeView& p) {
       return std::to_string(p.for_count()) + "/" + std::to_string(p.against_count()) + "/" +
              std::to_string(p.abstain_count());
     }},
    {"WEIGHT FOR:AGAINST",
     [](const v1::ProposalOutcomeView& p) { return p.for_weight() + " : " + p.against_weight(); }},
    {"QUORUM",
     [](const v1::ProposalOutcomeView& p) {
       return std::to_string(p.participants()) + " of " + std::to_string(p.eligible_members()) +
              (p.quorum_met() ? " (met)" : " (not met)");
     }},
};

}  // namespace

Result<FoldedReplica> FoldReplica(storage::Replica& replica) {
  for (int attempt = 0; attempt < kMaxFoldAttempts; ++attempt) {
    auto before = replica.events().Vector();
    if (!before) return Unexpected<Error>{before.error()};
    std::vector<Bytes> stored;
    Status read = replica.events().ForEachEvent([&](ByteView bytes) -> Status {
      stored.emplace_back(bytes.begin(), bytes.end());
      return {};
    });
    if (!read) return Unexpected<Error>{read.error()};
    auto digest = replica.StateDigest();
    if (!digest) return Unexpected<Error>{digest.error()};
    auto after = replica.events().Vector();
    if (!after) return Unexpected<Error>{after.error()};
    if (before->Digest() != after->Digest()) continue;  // events arrived meanwhile: read again
    // Signatures are verified again (on every core): what is counted is what was signed.
    auto decoded = rulebook::DecodeBatch(stored, kNoClockLimitMs,
                                         std::max(1u, std::thread::hardware_concurrency()));
    std::vector<decide::FoldEvent> events;
    events.reserve(decoded.size());
    for (auto& d : decoded) {
      if (!d) {
        return Fail(Errc::kCorruption, "a stored event does not decode (" + d.error().message +
                                           "); run `polder verify`");
      }
      events.push_back({d->id, std::move(d->body)});
    }
    FoldedReplica out;
    out.provenance.events_read = events.size();
    out.provenance.state_digest = digest->hex();
    out.provenance.vector_digest = after->Digest().hex();
    out.state = decide::Fold(events);
    return out;
  }
  return Fail(Errc::kUnavailable, "the replica kept changing while it was read; try again");
}

std::string TallyText(const v1::TallyView& v) {
  std::string h = "Tally of \"" + v.circle_name() + "\" as of " + v.as_of() + " (" +
                  Spaced(v.allocation_method()) + ")\n";
  if (v.proposals_size() == 0) {
    h += "No proposals yet.\n";
  } else {
    std::vector<std::string> headers;
    for (const auto& c : kColumns) headers.emplace_back(c.header);
    Table t(headers);
    for (const auto& p : v.proposals()) {
      std::vector<std::string> cells;
      for (const auto& c : kColumns) cells.push_back(c.cell(p));
      t.Row(std::move(cells));
    }
    h += t.Render();
  }
  h += "pool " + v.pool() + ", allocated " + v.allocated() + ", left " + v.left() + "\n";
  if (!v.allocation_error().empty()) h += "allocation failed: " + v.allocation_error() + "\n";
  for (const auto& a : v.alerts()) h += a.text();
  const auto provisional =
      std::count_if(v.proposals().begin(), v.proposals().end(),
                    [](const v1::ProposalOutcomeView& p) { return p.finality() == "provisional"; });
  if (provisional > 0) {
    h += "note: " + std::to_string(provisional) +
         (provisional == 1 ? " closed proposal is" : " closed proposals are") +
         " provisional: not enough members have sealed its round yet (docs/protocol.md §15).\n";
  }
  for (const auto& p : v.proposals()) {
    if (p.moved_from_ms() == 0) continue;
    h += "note: " + p.proposal_id().substr(0, 12) + " was blocked at its deadline " +
         FormatRfc3339(p.moved_from_ms()) +
         " by a flag raised just before it; its decision moved to " +
         FormatRfc3339(p.deadline_ms()) + " so that the flag can be answered (--explain).\n";
  }
  const auto open = std::count_if(v.proposals().begin(), v.proposals().end(),
                                  [](const v1::ProposalOutcomeView& p) { return !p.closed(); });
  if (open > 0) {
    h += "note: " + std::to_string(open) + (open == 1 ? " proposal is" : " proposals are") +
         " still open: figures are provisional until the deadline.\n";
  }
  return h;
}

Result<Output> RunTally(app::Session& s, const TallyArgs& a) {
  const auto as_of = AsOfMs(a.as_of);
  if (!as_of) return Unexpected<Error>{as_of.error()};
  std::optional<EventId> only;
  if (!a.explain.empty()) {
    auto id = ResolveProposal(s.replica(), a.explain);
    if (!id) return Unexpected<Error>{id.error()};
    only = *id;
  }
  auto t = TallyReplica(s.replica(), *as_of);
  if (!t) return Unexpected<Error>{t.error()};
  const auto& st = t->folded.state;
  auto view =
      std::make_unique<v1::TallyView>(decide::TallyViewOf(st, t->result, t->folded.provenance));
  Output out;
  if (!only) {
    out.text = TallyText(*view);
    out.view = std::move(view);
    return out;
  }
  const auto* o = decide::FindOutcome(t->result, *only);
  if (!o) return Fail(Errc::kNotFound, "proposal " + only->hex() + " is not in the tally");
  view->clear_proposals();
  auto* p = view->add_proposals();
  *p = decide::OutcomeView(st, *o);
  *p->mutable_explanation() = decide::ExplanationViewOf(st, *o);
  // (The explanation gives the deadline and the cut-off itself.)
  out.text = "As of " + view->as_of() + "; the deadline " +
             (o->explanation.closed ? "has passed" : "has not passed: provisional") + ".\n" +
             p->explanation().text();
  out.view = std::move(view);
  return out;
}

std::string AuditText(const v1::AuditView& a) {
  const auto& p = a.proposal();
  const auto& e = p.explanation();
  const auto& r = a.rules();
  std::map<std::string, std::string> names;
  for (const auto& m : a.members()) names[m.member()] = m.name();
  auto who = [&](const std::string& key) { return Label(names[key], key); };

  std::string h = "Audit of \"" + p.title() + "\" (" + p.proposal_id() + ")\n";
  h += "  as of " + a.as_of() + " (" + std::to_string(a.as_of_ms()) + " ms); votes counted up to " +
       FormatRfc3339(e.cutoff_ms()) + "; deadline " + FormatRfc3339(e.deadline_ms()) +
       (e.closed() ? " (passed)" : " (not yet: provisional)") + "\n";
  h += "  computed from " + std::to_string(a.events_read()) + " events: state digest " +
       a.state_digest() + ", version vector digest " + a.vector_digest() + "\n";
  h += "Outcome: " + Spaced(p.status()) + (p.reason().empty() ? "" : " (" + p.reason_text() + ")") +
       "; asks " + p.amount() + " for " + p.organisation() + "\n";
  h += "Rules (charter " + Short(r.charter_event()) + "): quorum " + FormatPercent(r.quorum_bps()) +
       " of members; approval more than " + FormatPercent(r.approval_bps()) + "; weighting " +
       Spaced(r.weighting()) + "; allocation " + Spaced(r.allocation()) + "; at most " +
       FormatPercent(r.max_share_per_proposal_bps()) + " of the pool per proposal and " +
       FormatPercent(r.max_share_per_org_bps()) + " per organisation; flags of severity " +
       r.blocking_severity() + " or more block; " + std::to_string(r.mitigation_acceptances()) +
       " acceptances end a flag; pool " + a.round().pool() + "\n";
  h += "Members (" + std::to_string(e.eligible_members()) + " eligible at the cut-off):\n";
  for (const auto& m : a.members()) {
    h += "  " + who(m.member()) + "  " + m.organisation() + "  admitted " +
         FormatRfc3339(m.admitted_ms()) + (m.eligible() ? "" : "  NOT ELIGIBLE") +
         (m.forked() ? "  FORKED at seq " + std::to_string(m.fork_seq()) : "") + "\n";
  }
  h += "Counted votes (" + std::to_string(a.counted_votes_size()) + "):\n";
  for (const auto& v : a.counted_votes()) {
    h += "  " + who(v.member()) + " " + v.organisation() + ": " + v.choice() + ", weight " +
         v.weight() + "; vote " + Short(v.vote_event());
    if (v.chain_size() > 0) {
      h += " by " + who(v.voted_by()) + ", through";
      for (const auto& hop : v.chain()) {
        h += " " + who(hop.delegator()) + " -> " + who(hop.delegate()) + " (delegation " +
             Short(hop.event_id()) + (hop.topic().empty() ? "" : ", topic " + hop.topic()) + ")";
      }
    }
    h += "\n";
  }
  if (a.excluded_votes_size() > 0) {
    h += "Excluded votes:\n";
    for (const auto& x : a.excluded_votes()) {
      h += "  " + Short(x.event_id()) + " by " + who(x.voter()) + ": " + x.reason_text() + "\n";
    }
  }
  if (a.flags_size() > 0) {
    h += "Risk flags:\n";
    for (const auto& f : a.flags()) {
      h += "  " + Short(f.flag_id()) + " by " + who(f.flagger()) + ", " + f.severity() + ", " +
           f.category() + ": " +
           (f.counted() ? f.state() + (f.blocking() ? " (blocks funding)" : "")
                        : std::string("raised after the cut-off: not counted")) +
           "\n";
      for (const auto& res : f.resolutions()) {
        h += "    " + res.kind() + " " + Short(res.event_id()) + " by " + who(res.author()) +
             (res.counted() ? "" : " (after the cut-off: not counted)") + "\n";
      }
      for (const auto& en : f.endorsements()) {
        if (en.acceptance()) {
          h += "    accepted by " + who(en.member()) + " (endorsement " + Short(en.event_id()) +
               ")\n";
        }
      }
    }
  }
  h += "Checks:\n";
  for (const auto& c : a.checks()) {
    h += std::string("  ") + (c.holds() ? "[yes] " : "[no]  ") + c.rule() + ": " + c.left() +
         " vs " + c.right() + "\n";
  }
  h += "Explanation:\n" + e.text();
  return h;
}

Result<Output> RunAudit(app::Session& s, const AuditArgs& a) {
  const auto as_of = AsOfMs(a.as_of);
  if (!as_of) return Unexpected<Error>{as_of.error()};
  auto id = ResolveProposal(s.replica(), a.proposal);
  if (!id) return Unexpected<Error>{id.error()};
  auto t = TallyReplica(s.replica(), *as_of);
  if (!t) return Unexpected<Error>{t.error()};
  auto audit = decide::Audit(t->folded.state, t->result, *id, t->folded.provenance);
  if (!audit) return Unexpected<Error>{audit.error()};
  Output out;
  out.text = AuditText(*audit);
  out.view = std::make_unique<v1::AuditView>(std::move(*audit));
  return out;
}

// ---- The subcommands ---------------------------------------------------------------------------

namespace {

// Both read the replica, never write.
int CmdTally(const Globals& g, const TallyArgs& a) {
  app::Session s = OpenSession(g, false, false);
  auto out = Must(RunTally(s, a));
  Emit(g, *out.view, out.text);
  return kExitOk;
}

int CmdAudit(const Globals& g, const AuditArgs& a) {
  app::Session s = OpenSession(g, false, false);
  auto out = Must(RunAudit(s, a));
  Emit(g, *out.view, out.text);
  return kExitOk;
}

}  // namespace

void RegisterTallyCommands(CLI::App& app, const Globals& g, Runner& run) {
  // Each subcommand's arguments are kept alive by its callback, which the app holds.
  auto ta = std::make_shared<TallyArgs>();
  auto* tally = app.add_subcommand(
      "tally", "every proposal's outcome (status, reason, amounts) and the pool's totals");
  tally->add_option("--as-of", ta->as_of,
                    "tally at this time: RFC 3339 (2026-12-01T10:00:00Z) or Unix ms (default now)");
  tally->add_option("--explain", ta->explain,
                    "explain one proposal in plain words (id or unique prefix)");
  tally->callback([&g, &run, ta] { run = [&g, ta] { return CmdTally(g, *ta); }; });

  auto aa = std::make_shared<AuditArgs>();
  auto* audit = app.add_subcommand(
      "audit", "everything needed to re-check one decision independently (use --json)");
  audit->add_option("PROPOSAL", aa->proposal, "proposal id or unique prefix")->required();
  audit->add_option("--as-of", aa->as_of, "audit at this time: RFC 3339 or Unix ms (default now)");
  audit->callback([&g, &run, aa] { run = [&g, aa] { return CmdAudit(g, *aa); }; });
}

}  // namespace polder::cli
