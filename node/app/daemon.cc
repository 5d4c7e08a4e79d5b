#include "node/app/daemon.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

#include <asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "crypto/key_file.h"
#include "crypto/member_id.h"
#include "node/api/local_api.h"
#include "node/app/api_port.h"
#include "node/app/limits.h"
#include "node/sync/progress.h"

namespace polder::app {

NodeConfig ConfigureNode(const NodeSettings& settings, const DaemonOptions& options) {
  NodeConfig config = options.tuning;
  config.listen = options.listen.empty() ? settings.listen : options.listen;
  config.advertise = options.advertise.empty() ? settings.advertise : options.advertise;
  config.bootstrap = settings.bootstrap;
  config.bootstrap.insert(config.bootstrap.end(), options.peers.begin(), options.peers.end());
  for (const auto& id : settings.bootstrap_members) {
    // (Checked when `polder join` wrote them; one edited by hand into nonsense is skipped.)
    if (auto key = crypto::ParseMemberId(id)) {
      config.bootstrap_members.push_back(*key);
    } else {
      spdlog::warn("[node] bootstrap_members: {} is not a member id; ignored", id);
    }
  }
  return config;
}

// Declared in this order so that they are destroyed in the reverse one: the timer and the API
// refer to the node.
struct Daemon::Running {
  Running(asio::io_context& io, Session& session, NodeConfig config, NetworkKeys keys)
      : node(io, session, std::move(config), std::move(keys)), progress_timer(io) {}

  Node node;
  std::optional<NodeApiPort> api_port;  // the API's view of the node
  std::optional<api::LocalApi> api;
  asio::steady_timer progress_timer;
};

Daemon::Daemon(asio::io_context& io, Session& session, DaemonOptions options)
    : io_(io), session_(session), options_(std::move(options)) {}

// The API, if it still serves, stops when Running goes (LocalApi's destructor).
Daemon::~Daemon() = default;

Status Daemon::Start() {
  const Home& home = session_.home();
  auto keys = NetworkKeys::Load(home);
  if (!keys) return Unexpected<Error>{keys.error()};
  auto settings = ReadNodeSettings(home);
  if (!settings) return Unexpected<Error>{settings.error()};
  running_ = std::make_unique<Running>(io_, session_, ConfigureNode(*settings, options_),
                                       std::move(*keys));
  Node& node = running_->node;
  if (auto started = node.Start(); !started) return started;
  if (options_.api) {
    auto api_settings = ReadApiSettings(home);
    if (!api_settings) return Unexpected<Error>{api_settings.error()};
    running_->api_port.emplace(node);
    running_->api.emplace(io_.get_executor(), *running_->api_port, home.api_files(), *api_settings);
    if (auto started = running_->api->Start(options_.api_host, 0); !started) return started;
  }
  // Catch-up progress: a line every few seconds while peers hold what this node lacks (see
  // LogProgressLater), and one when it has caught up, at debug for the brief catch-ups of
  // ordinary gossip so that they do not flood the log.
  node.on_caught_up = [](const sync::Progress& p) {
    const bool worth_a_line =
        p.received >= kCatchUpLogMinEvents || p.elapsed_s >= kCatchUpLogIntervalSeconds;
    spdlog::log(worth_a_line ? spdlog::level::info : spdlog::level::debug,
                "caught up: {} events in {}", p.received, sync::DescribeSeconds(p.elapsed_s));
  };
  LogProgressLater();
  return {};
}

void Daemon::LogProgressLater() {
  auto& timer = running_->progress_timer;
  timer.expires_after(std::chrono::seconds(kCatchUpLogIntervalSeconds));
  timer.async_wait([this](const std::error_code& ec) {
    // A cancelled wait may complete after the Daemon is gone: look at nothing of it then.
    if (ec || stopping_) return;
    const auto& p = running_->node.progress();
    if (p.catching_up && p.elapsed_s >= 1) {
      spdlog::info("catching up: {}", sync::DescribeProgress(p));
    }
    LogProgressLater();
  });
}

void Daemon::Stop() {
  if (!running_) return;
  // Not the API's Stop(): a request in flight waits for this thread, which would wait for it.
  if (running_->api) running_->api->Withdraw();
  stopping_ = true;
  running_->progress_timer.cancel();
  running_->node.Stop();
}

void Daemon::RunUntilStopped() {
  io_.run();
  if (running_ && running_->api) running_->api->Stop();
}

Node& Daemon::node() { return running_->node; }

int Daemon::api_port() const { return running_ && running_->api ? running_->api->port() : 0; }

}  // namespace polder::app
