#include "node/app/node.h"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "crypto/member_id.h"
#include "node/api/views.h"
#include "node/app/endpoint.h"
#include "node/app/node_conn.h"
#include "node/decide/tally.h"
#include "storage/limits.h"
#include "storage/rulebook/limits.h"

namespace polder::app {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

// The syncer of a running node: on the system's clocks, with a random seed for its choices.
sync::Syncer::Options SyncerOptions(Session& session, std::uint64_t credit_bytes) {
  sync::Syncer::Options o;
  o.now_ms = NowMs;
  o.identity = &session.key();
  o.initial_credit = credit_bytes;
  o.clock = Clock::now;
  o.seed = std::random_device{}();
  return o;
}

}  // namespace

Node::Node(asio::io_context& io, Session& session, NodeConfig config, NetworkKeys keys)
    : io_(io),
      session_(session),
      config_(std::move(config)),
      keys_(std::move(keys)),
      acceptor_(io),
      store_(session.replica()),
      syncer_(store_, SyncerOptions(session, config_.sync_credit)),
      rng_(std::random_device{}()),
      sealer_(session, config_.seal_grace, config_.seal_spread, config_.seal_catch_up_wait,
              [this](const auto& fill) { return Author(fill); }),
      access_(session.replica()) {}

Node::~Node() = default;

Status Node::Start() {
  if (!session_.replica().circle()) {
    return Fail(Errc::kInvalidArgument,
                "this home belongs to no circle yet: run `polder circle create` or `polder join "
                "CODE` first");
  }
  auto ep = ParseEndpoint(config_.listen);
  if (!ep) return Unexpected<Error>{ep.error()};
  std::error_code ec;
  acceptor_.open(ep->protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(*ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Fail(Errc::kUnavailable, "cannot listen on " + config_.listen + ": " + ec.message());
  const auto bound = acceptor_.local_endpoint();
  std::vector<std::string> announce = config_.advertise;
  if (announce.empty() && !bound.address().is_unspecified()) {
    announce.push_back(bound.address().to_string() + ":" + std::to_string(bound.port()));
  }
  syncer_.set_listen_addresses(announce);
  syncer_.set_schedule_flush([this] {
    asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.lock()) syncer_.Flush();
    });
  });
  syncer_.set_offload([this](std::function<void()> work, std::function<void()> then) {
    // The work guard keeps the io_context running until the batch is committed, so a node
    // that stops finishes the batch in hand.
    asio::post(verifier_, [work = std::move(work), then = std::move(then), &io = io_,
                           guard = asio::make_work_guard(io_)]() mutable {
      work();
      asio::post(io, std::move(then));
    });
  });
  syncer_.on_peer_announced = [this](const sync::PeerRecord& p) {
    std::size_t start = 0;
    while (start < p.addresses.size()) {
      auto nl = p.addresses.find('\n', start);
      if (nl == std::string::npos) nl = p.addresses.size();
      if (nl > start) {
        const std::string a = p.addresses.substr(start, nl - start);
        auto [it, added] = targets_.try_emplace(a);
        it->second.member = p.member;
      }
      start = nl + 1;
    }
  };
  syncer_.on_progress = [this] { ObserveProgress(); };
  if (auto s = syncer_.Load(); !s) return s;
  // Benchmarks: POLDER_TRACE_EVENTS=FILE appends "event-id unix-µs bytes" for every event this
  // node stores (received or authored), to measure propagation across processes.
  if (const char* trace = std::getenv("POLDER_TRACE_EVENTS"); trace && *trace) {
    trace_.reset(std::fopen(trace, "a"));
    if (trace_) {
      syncer_.on_event_stored = [this](const EventId& id, std::size_t bytes) { Trace(id, bytes); };
    }
  }
  RefreshAccess(true);
  for (const auto& a : config_.bootstrap) AddAddress(a);
  if (auto peers = store_.Peers()) {
    for (const auto& p : *peers) syncer_.on_peer_announced(p);
  }
  spdlog::info("node {} listening on {}:{}", crypto::Fingerprint(session_.key().public_key()),
               bound.address().to_string(), bound.port());
  asio::co_spawn(io_, AcceptLoop(), asio::detached);
  asio::co_spawn(io_, DialLoop(), asio::detached);
  asio::co_spawn(io_, AntiEntropyLoop(), asio::detached);
  asio::co_spawn(io_, PumpLoop(), asio::detached);
  return {};
}

void Node::Stop() {
  if (stopping_) return;
  stopping_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  for (auto& t : timers_) t->cancel();
  auto conns = conns_;
  for (auto& [ptr, c] : conns) c->session->Shutdown();
}

std::size_t Node::ready_peers() const {
  std::size_t n = 0;
  for (const auto& [p, c] : conns_) n += c->peer.has_value();
  return n;
}

asio::awaitable<void> Node::AntiEntropyLoop() {
  timers_.push_back(std::make_unique<asio::steady_timer>(io_));
  auto* timer = timers_.back().get();
  while (!stopping_) {
    const auto base = config_.anti_entropy.count();
    std::uniform_int_distribution<std::int64_t> jitter(base / 2, base + base / 2);
    timer->expires_after(std::chrono::milliseconds(jitter(rng_)));
    co_await timer->async_wait(kUseTuple);
    if (stopping_) co_return;
    auto peers = syncer_.peers();
    if (peers.empty()) continue;
    std::uniform_int_distribution<std::size_t> pick(0, peers.size() - 1);
    syncer_.Probe(peers[pick(rng_)]);
  }
}

asio::awaitable<void> Node::PumpLoop() {
  timers_.push_back(std::make_unique<asio::steady_timer>(io_));
  auto* timer = timers_.back().get();
  while (!stopping_) {
    timer->expires_after(std::chrono::milliseconds(20));
    co_await timer->async_wait(kUseTuple);
    if (stopping_) co_return;
    syncer_.Pump();
    syncer_.Tick();
    if (config_.auto_seal && std::chrono::steady_clock::now() >= next_seal_check_) {
      next_seal_check_ = std::chrono::steady_clock::now() + config_.seal_check;
      if (auto sealed = SealDue(NowMs()); !sealed) {
        spdlog::warn("sealing: {}", sealed.error().message);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (config_.wal_checkpoint.count() > 0 && now >= next_checkpoint_) {
      // Never waits: a CLI command reading the replica now means another try in a second.
      auto done = session_.replica().Checkpoint();
      next_checkpoint_ = now + (done && *done ? std::chrono::milliseconds(config_.wal_checkpoint)
                                              : std::chrono::milliseconds(1000));
    }
    if (now >= next_access_check_) {
      RefreshAccess(now >= next_access_refresh_);
      CheckNetworkKey();
      // A recomputation folds the whole replica on this thread: however often membership
      // changes (a member admitting keys in a loop), it takes at most ~5 % of the thread.
      const auto took = std::chrono::steady_clock::now() - now;
      next_access_check_ =
          std::chrono::steady_clock::now() +
          std::max<std::chrono::steady_clock::duration>(config_.access_check, 20 * took);
    }
    ObserveProgress();
  }
}

void Node::RefreshAccess(bool force) {
  if (force) next_access_refresh_ = std::chrono::steady_clock::now() + kAccessRefresh;
  auto changed = access_.Refresh(NowMs(), force);
  if (!changed) {
    spdlog::warn("checking who may connect: {}", changed.error().message);
    return;
  }
  if (*changed) {
    spdlog::info("{} members may connect", access_.size());
    Recheck();
  }
}

void Node::ObserveProgress() {
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  if (progress_.Observe(now_ms, syncer_.stats().events_stored, syncer_.Expected()) &&
      on_caught_up) {
    on_caught_up(progress_.Current());
  }
}

Result<int> Node::SealDue(std::int64_t now_ms) {
  // Catching up: what we hold is not what we will hold.
  return sealer_.SealDue(now_ms, syncer_.Expected() > 0);
}

Result<Session::Authored> Node::Author(const std::function<void(v1::EventBody&)>& fill) {
  auto a = session_.Author(fill);
  if (!a) return a;
  auto announce = [&](const EventId& id, std::uint64_t seq) {
    auto bytes = session_.replica().events().EventBytes(id);
    if (bytes && *bytes) {
      Trace(id, (*bytes)->size());
      syncer_.OnLocalEvent(**bytes, session_.key().public_key(), seq);
    }
  };
  for (const auto& [id, seq] : a->before) announce(id, seq);  // a device's claim, first
  announce(a->id, a->seq);
  return a;
}

void Node::Trace(const EventId& id, std::size_t bytes) {
  if (!trace_) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::fprintf(trace_.get(), "%s %lld %zu\n", id.hex().c_str(), static_cast<long long>(us), bytes);
  std::fflush(trace_.get());
}

api::MetricsSnapshot Node::Metrics() const {
  api::MetricsSnapshot m;
  m.sync = syncer_.stats();
  if (send_queue_cutoffs_ > 0) {
    m.sync.cut_off_by_reason[net::ToString(net::CloseReason::kOverloaded)] += send_queue_cutoffs_;
  }
  m.handshakes_refused = handshakes_refused_;
  m.sync_lag_events = syncer_.Expected();
  for (const auto& [p, c] : conns_) {
    if (!c->peer) continue;
    ++(c->outbound ? m.sessions_outbound : m.sessions_inbound);
  }
  if (auto p = session_.replica().Pending()) {
    m.pending_events = p->events;
    m.pending_bytes = p->bytes;
    m.pending_evicted = p->evicted;
  }
  return m;
}

v1::NodeView Node::View() const {
  v1::NodeView v;
  std::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  if (!ec) v.set_listen(ep.address().to_string() + ":" + std::to_string(ep.port()));
  v.set_pid(::getpid());
  v.set_sessions_opened(sessions_opened_);
  v.set_handshakes_failed(handshakes_failed_);
  v.set_not_members_refused(not_members_refused_);
  v.set_network_key_id(keys_.current_id().hex());
  for (const auto& [p, c] : conns_) {
    if (!c->peer) continue;
    auto* pv = v.add_peers();
    pv->set_member_id(crypto::FormatMemberId(c->member));
    pv->set_name(api::MemberLabel(session_.replica().views().NameOf(c->member)));
    pv->set_address(c->address);
    pv->set_outbound(c->outbound);
    pv->set_retired_key(c->session->key_used() != 0 || c->key_choice != 0);
  }
  const auto& s = syncer_.stats();
  auto* sv = v.mutable_sync();
  sv->set_events_received(s.events_received);
  sv->set_events_stored(s.events_stored);
  sv->set_duplicates(s.duplicates);
  sv->set_refused(s.refused);
  sv->set_events_sent(s.events_sent);
  sv->set_pushes_sent(s.pushes_sent);
  sv->set_pushes_dropped(s.pushes_dropped);
  sv->set_peers_cut_off(s.peers_cut_off);
  sv->set_bytes_in(s.bytes_in);
  sv->set_bytes_out(s.bytes_out);
  for (const auto& [message, n] : s.bytes_out_by_message) {
    (*sv->mutable_bytes_out_by_message())[message] = n;
  }
  const sync::Progress& p = progress_.Current();
  sv->set_catching_up(p.catching_up);
  sv->set_received(p.received);
  sv->set_expected(p.expected);
  sv->set_missing(p.missing);
  sv->set_rate_events_per_s(p.rate_events_per_s);
  if (p.eta_s) sv->set_eta_s(*p.eta_s);
  sv->set_elapsed_s(p.elapsed_s);
  return v;
}

}  // namespace polder::app
