// Daemon: one member's running node, assembled the way `polder node` runs it — the Node
// configured from the home's [node] settings and the command line, its local API (api.json,
// api.token, loopback HTTP), catch-up progress in the log — and the order in which it stops.
// `polder node` and the multi-node tests (tests/sync/harness.h) both build their nodes here, so
// the tests run what the product runs.
//
// Lifecycle: Start(); the caller runs the io_context; Stop() (e.g. on a signal) closes the
// sessions, after which the io_context runs out of work; RunUntilStopped() runs it until then
// and finally stops the API. The destructor stops the API if it still serves.
//
// Thread-safety: not thread-safe. Every method is called on the thread that runs the
// io_context; the API's HTTP threads reach the node only by posting to that thread.
// Ownership: borrows the io_context and the Session, which must outlive the Daemon. After Stop()
// let the io_context run (the sessions close) before destroying the Daemon if the io_context
// runs again afterwards.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "node/app/home.h"
#include "node/app/node.h"
#include "node/app/session.h"
#include "proto/result.h"

namespace polder::app {

struct DaemonOptions {
  // The command line's overrides of the home's [node] settings (`polder node` flags).
  std::string listen;                  // empty: [node] listen
  std::vector<std::string> advertise;  // empty: [node] advertise
  std::vector<std::string> peers;      // dialed besides [node] bootstrap
  // Node tunables (tests shorten intervals or cut networks with them). Its listen, advertise and
  // bootstrap fields are replaced by ConfigureNode.
  NodeConfig tuning;
  // Whether the node serves its local API; the CLI's writes and `status` go through it. Tests
  // that do not speak HTTP to the node leave it off.
  bool api = true;
  std::string api_host = "127.0.0.1";  // the API listens here, on any free port
};

// The node's configuration: `options.tuning` with the addresses of the [node] settings, where
// --listen and --advertise replace the settings and --peer addresses are dialed after the
// settings' bootstrap addresses.
NodeConfig ConfigureNode(const NodeSettings& settings, const DaemonOptions& options);

class Daemon {
 public:
  Daemon(asio::io_context& io, Session& session, DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the circle's network key, reads the home's [node] (and, with the API, [api]) settings,
  // starts the node and then the API, and arms the progress log. On an error the caller should
  // destroy the Daemon.
  // REQUIRES: the session is open for writing, without a running node (allow_remote = false).
  [[nodiscard]] Status Start();
  // Withdraws api.json (new commands wait for the home's lock instead of coming here), stops the
  // progress log and stops the node (no new sessions, the open ones close gracefully). The API
  // keeps serving the requests in flight: stopping it here could wait for this very thread.
  void Stop();
  // Runs the io_context on this thread until it runs out of work (after Stop(), once every
  // session has closed), then stops the API.
  void RunUntilStopped();

  // REQUIRES: Start() succeeded.
  Node& node();
  // The local API's port; 0 while it does not serve.
  int api_port() const;

 private:
  void LogProgressLater();

  asio::io_context& io_;
  Session& session_;
  DaemonOptions options_;
  struct Running;  // the node, its API and the progress timer, built by Start()
  std::unique_ptr<Running> running_;
  bool stopping_ = false;  // a timer wait that completed just before Stop() must not re-arm
};

}  // namespace polder::app
