// `polder node`: runs the member's node in the foreground (node/app/daemon.h) until SIGINT or
// SIGTERM.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include "crypto/member_id.h"
#include "node/app/daemon.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"

namespace polder::cli {
namespace {

struct NodeArgs {
  std::string listen;
  std::vector<std::string> peers, advertise;
  std::string log_level;
  std::string api_listen = "127.0.0.1";
};

int CmdNode(const Globals& g, const NodeArgs& a) {
  if (const char* env = std::getenv("POLDER_LOG"); env && *env) spdlog::cfg::load_env_levels();
  if (!a.log_level.empty()) spdlog::set_level(spdlog::level::from_str(a.log_level));
  const app::Home home = ResolveHome(g);
  auto opened = app::Session::Open(home, app::SessionOptions{true, true, /*allow_remote=*/false});
  if (!opened) {
    if (opened.error().code == Errc::kUnavailable) {
      throw CommandError{
          Error{Errc::kUnavailable, "another polder process holds " + home.dir().string() +
                                        " (is a node already running for this home?)"}};
    }
    Must(std::move(opened));
  }
  app::Session& s = *opened;
  if (!s.replica().circle()) {
    Usage("this home belongs to no circle: run `polder circle create ...` or `polder join CODE`");
  }
  asio::io_context io;
  app::DaemonOptions options;
  options.listen = a.listen;
  options.advertise = a.advertise;
  options.peers = a.peers;
  options.api_host = a.api_listen;
  app::Daemon daemon(io, s, std::move(options));
  Must(daemon.Start());
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping", sig);
    daemon.Stop();
  });
  const auto ep = daemon.node().local_endpoint();
  std::cerr << "polder node: member " << crypto::Fingerprint(s.key().public_key())
            << ", listening on " << ep.address().to_string() << ":" << ep.port()
            << ", local API on 127.0.0.1:" << daemon.api_port() << " (Ctrl-C stops)" << std::endl;
  daemon.RunUntilStopped();
  std::cerr << "polder node: stopped" << std::endl;
  return kExitOk;
}

}  // namespace

void RegisterNodeCommand(CLI::App& app, const Globals& g, Runner& run) {
  auto a = std::make_shared<NodeArgs>();  // kept alive by the callback, which the app holds
  auto* node = app.add_subcommand("node", "run your node in the foreground (Ctrl-C stops it)");
  node->add_option("--listen", a->listen, "host:port to accept sessions on (default 0.0.0.0:7714)");
  node->add_option("--peer", a->peers, "host:port of a node to dial (repeatable)");
  node->add_option("--advertise", a->advertise, "host:port others should dial (repeatable)");
  node->add_option("--log-level", a->log_level, "trace | debug | info | warn | error");
  node->callback([&g, &run, a] { run = [&g, a] { return CmdNode(g, *a); }; });
}

}  // namespace polder::cli
