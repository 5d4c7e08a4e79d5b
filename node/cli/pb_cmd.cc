// `polder pb FILE --rule greedy|mes`: an allocation method (node/decide) run on a Pabulib file,
// outside any circle; prints the funded project ids.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "node/decide/allocate.h"
#include "node/decide/pabulib.h"
#include "polder/v1/api.pb.h"
#include "proto/money.h"

namespace polder::cli {
namespace {

struct PbArgs {
  std::string file, rule, utility = "cost", completion = "add1";
  bool mes_options_given = false;
};

// Runs an allocation method on a Pabulib file; prints the funded project ids one per line, in
// the order they were funded.
int CmdPb(const Globals& g, const PbArgs& a) {
  if (a.rule == "greedy" && a.mes_options_given) {
    Usage("--utility and --completion apply to --rule mes only");
  }
  std::ifstream in(a.file, std::ios::binary);
  if (!in) throw CommandError{Error{Errc::kIo, "cannot open " + a.file}};
  auto parsed = decide::ReadPabulib(in);
  if (!parsed) {
    throw CommandError{Error{parsed.error().code, a.file + ": " + parsed.error().message}};
  }
  const decide::PabulibFile& pb = *parsed;
  decide::MesOptions opt;
  opt.utility = a.utility == "approval" ? decide::Utility::kApproval : decide::Utility::kCost;
  opt.completion = a.completion == "none" ? decide::Completion::kNone : decide::Completion::kAdd1;
  const auto r =
      Must(a.rule == "greedy" ? decide::Greedy(pb.instance) : decide::Mes(pb.instance, opt));
  v1::PbOutcomeView v;
  v.set_file(a.file);
  v.set_rule(a.rule);
  if (a.rule == "mes") {
    v.set_utility(decide::ToString(opt.utility));
    v.set_completion(decide::ToString(opt.completion));
    v.set_voter_budget_minor(r.voter_budget.ToString());
    v.set_mes_runs(r.mes_runs);
    v.set_add1_raise(r.add1_raise);
    v.set_add1_capped(r.add1_capped);
  }
  v.set_budget(FormatMoney(pb.instance.budget, pb.decimals));
  v.set_total_cost(FormatMoney(r.total_cost, pb.decimals));
  v.set_voters(pb.instance.approvals.size());
  v.set_decimals(pb.decimals);
  std::string h;
  for (const auto& f : r.funded) {
    const auto& id = pb.instance.projects[f.project].id;
    v.add_funded(id);
    auto* p = v.add_projects();
    p->set_project_id(id);
    p->set_cost(FormatMoney(f.cost, pb.decimals));
    p->set_approvals(f.approvals);
    p->set_step(decide::ToString(f.step));
    if (f.step == decide::Step::kMes) p->set_price(f.price.ToString());
    h += id + "\n";
  }
  if (r.add1_capped) {
    std::cerr << "note: add1 stopped after " << r.add1_raise << " raises (the limit)\n";
  }
  Emit(g, v, h);
  return kExitOk;
}

}  // namespace

void RegisterPbCommand(CLI::App& app, const Globals& g, Runner& run) {
  auto pb = std::make_shared<PbArgs>();  // kept alive by the callback, which the app holds
  auto* pbc = app.add_subcommand(
      "pb", "run a participatory-budgeting method on a Pabulib .pb file; prints the funded ids");
  pbc->add_option("FILE", pb->file, "Pabulib file")->required();
  pbc->add_option("--rule", pb->rule, "greedy | mes")
      ->required()
      ->check(CLI::IsMember({"greedy", "mes"}));
  auto* utility = pbc->add_option("--utility", pb->utility, "mes: cost | approval (default cost)")
                      ->check(CLI::IsMember({"cost", "approval"}));
  auto* completion =
      pbc->add_option("--completion", pb->completion, "mes: none | add1 (default add1)")
          ->check(CLI::IsMember({"none", "add1"}));
  pbc->callback([&g, &run, pb, utility, completion] {
    pb->mes_options_given = utility->count() > 0 || completion->count() > 0;
    run = [&g, pb] { return CmdPb(g, *pb); };
  });
}

}  // namespace polder::cli
