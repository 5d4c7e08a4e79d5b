// The commands on the replica as a whole: `polder export` and `import` (bundle files, verified
// whole before anything changes), `rebuild` (derived state recomputed from the events) and
// `verify` (every signature and the derived state re-checked).
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "node/api/views.h"
#include "node/app/session.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "polder/v1/api.pb.h"
#include "storage/bundle.h"
#include "storage/limits.h"
#include "storage/rulebook/refusal.h"

namespace polder::cli {
namespace {

using app::Session;

int CmdExport(const Globals& g, const std::string& file, bool force) {
  Session s = OpenSession(g, false, false);
  const auto circle = s.replica().circle();
  if (!circle) Usage("this replica belongs to no circle; nothing to export");
  auto w = Must(storage::BundleWriter::Create(file, *circle, force));
  std::uint64_t n = 0;
  Must(s.replica().events().ForEachEvent([&](ByteView ev) -> Status {
    ++n;
    return w.Add(ev);
  }));
  Must(w.Finish());
  v1::ExportReport r;
  r.set_file(file);
  r.set_events(n);
  Emit(g, r, "✓ Exported " + std::to_string(n) + " events to " + file + "\n");
  return kExitOk;
}

int CmdImport(const Globals& g, const std::string& file) {
  Session s = OpenSession(g, false, true);
  auto& r = s.replica();
  // Check the whole file first: a damaged file is refused before anything changes.
  const auto info = Must(storage::ReadBundle(file, nullptr));
  if (r.circle() && *r.circle() != info.circle) {
    throw CommandError{Error{Errc::kRefused, file + " holds events of another circle (" +
                                                 info.circle.hex().substr(0, 16) + ")"}};
  }
  const bool joining = !r.circle();
  v1::ImportReport rep;
  rep.set_file(file);
  rep.set_events_in_file(info.events);
  std::vector<Bytes> batch;
  std::size_t batch_bytes = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) return {};
    storage::IngestOptions opt{app::NowMs()};
    if (joining) opt.adopt_circle = info.circle;  // joined with the first event stored
    auto results = r.Ingest(batch, opt);
    if (!results) return Unexpected<Error>{results.error()};
    for (const auto& res : *results) {
      switch (res.outcome) {
        case storage::Outcome::kApplied: rep.set_applied(rep.applied() + 1); break;
        case storage::Outcome::kAwaiting: rep.set_awaiting(rep.awaiting() + 1); break;
        case storage::Outcome::kPending: rep.set_pending(rep.pending() + 1); break;
        case storage::Outcome::kDuplicate: rep.set_duplicates(rep.duplicates() + 1); break;
        case storage::Outcome::kEquivocation: rep.set_equivocations(rep.equivocations() + 1); break;
        case storage::Outcome::kFrozen: rep.set_frozen(rep.frozen() + 1); break;
        case storage::Outcome::kVoid: {
          rep.set_voided(rep.voided() + 1);
          if (rep.refusals_size() < 100) {
            auto* x = rep.add_refusals();
            x->set_event_id(res.id.hex());
            x->set_code(std::string("void:") + rulebook::ToString(res.refusal->code));
            x->set_message("kept in its author's log without effect: " + res.refusal->message);
          }
          break;
        }
        case storage::Outcome::kRefused: {
          rep.set_refused(rep.refused() + 1);
          if (rep.refusals_size() < 100) {
            auto* x = rep.add_refusals();
            x->set_event_id(res.id.zero() ? "" : res.id.hex());
            x->set_code(rulebook::ToString(res.refusal->code));
            x->set_message(res.refusal->message);
          }
          break;
        }
      }
    }
    batch.clear();
    batch_bytes = 0;
    return {};
  };
  Must(storage::ReadBundle(file, [&](ByteView ev) -> Status {
    batch.emplace_back(ev.begin(), ev.end());
    batch_bytes += ev.size();
    if (batch.size() >= storage::kImportBatchEvents || batch_bytes >= storage::kImportBatchBytes) {
      return flush();
    }
    return {};
  }));
  Must(flush());
  if (joining && r.circle()) {
    std::cerr << "note: this replica now follows circle " << info.circle.hex().substr(0, 16)
              << "\n";
  }
  rep.set_digest(Must(r.StateDigest()).hex());
  std::string h =
      "✓ Imported " + file + ": " + std::to_string(rep.applied()) + " applied, " +
      (rep.awaiting() > 0 ? std::to_string(rep.awaiting()) + " awaiting an event they refer to, "
                          : std::string()) +
      std::to_string(rep.duplicates()) + " already held, " + std::to_string(rep.pending()) +
      " pending, " + std::to_string(rep.equivocations()) + " equivocations, " +
      std::to_string(rep.voided()) + " void, " + std::to_string(rep.refused()) + " refused\n";
  for (const auto& x : rep.refusals()) {
    h += "  refused " + Short(x.event_id()) + ": " + x.code() + ": " + x.message() + "\n";
  }
  if (rep.equivocations() > 0)
    h += "  warning: some members signed two different events at one sequence number; see `polder "
         "status`\n";
  h += "  digest " + rep.digest() + "\n";
  Emit(g, rep, h);
  return rep.refused() > 0 ? kExitRefused : kExitOk;
}

int CmdRebuild(const Globals& g) {
  Session s = OpenSession(g, false, true);
  const auto before = Must(s.replica().StateDigest());
  Must(s.replica().Rebuild());
  const auto after = Must(s.replica().StateDigest());
  v1::VerifyReport r;
  r.set_digest(after.hex());
  r.set_derived_state_matches(before == after);
  Emit(g, r,
       "✓ Rebuilt derived state from events\n  digest " + after.hex() +
           (before == after ? " (unchanged)\n" : " (it was " + before.hex() + ")\n"));
  return kExitOk;
}

int CmdVerify(const Globals& g) {
  Session s = OpenSession(g, false, true);
  const auto r = api::VerifyReportOf(Must(s.replica().Verify()));
  std::string h = "checked " + std::to_string(r.events_checked()) +
                  " events: " + std::to_string(r.bad()) + " bad\n";
  for (const auto& p : r.problems()) h += "  " + Short(p.event_id()) + ": " + p.message() + "\n";
  h += std::string("derived state ") + (r.derived_state_matches() ? "matches" : "DOES NOT MATCH") +
       " a rebuild from events\n";
  h += "digest " + r.digest() + "\n";
  Emit(g, r, h);
  return r.bad() == 0 && r.derived_state_matches() ? kExitOk : kExitFailed;
}

}  // namespace

void RegisterFileCommands(CLI::App& app, const Globals& g, Runner& run) {
  // Each subcommand's arguments are kept alive by its callback, which the app holds.
  struct ExportArgs {
    std::string file;
    bool force = false;
  };
  auto ea = std::make_shared<ExportArgs>();
  auto* exp = app.add_subcommand("export", "write every event to a bundle file");
  exp->add_option("FILE", ea->file, "bundle file to create")->required();
  exp->add_flag("--force", ea->force, "overwrite FILE if it exists");
  exp->callback([&g, &run, ea] { run = [&g, ea] { return CmdExport(g, ea->file, ea->force); }; });

  auto file = std::make_shared<std::string>();
  auto* imp = app.add_subcommand("import", "verify and ingest the events of a bundle file");
  imp->add_option("FILE", *file, "bundle file")->required();
  imp->callback([&g, &run, file] { run = [&g, file] { return CmdImport(g, *file); }; });

  app.add_subcommand("rebuild", "recompute derived state from the events alone")
      ->callback([&g, &run] { run = [&g] { return CmdRebuild(g); }; });
  app.add_subcommand("verify", "re-verify every stored event and the derived state")
      ->callback([&g, &run] { run = [&g] { return CmdVerify(g); }; });
}

}  // namespace polder::cli
