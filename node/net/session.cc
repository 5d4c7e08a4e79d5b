#include "node/net/session.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>

namespace polder::net {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 256 * 1024;
constexpr std::size_t kHandshakeReadChunk = 4 * 1024;
// One write system call carries up to this many queued buffers.
constexpr std::size_t kMaxGather = 16;
// Written buffers kept for reuse (one gathered write's worth), each at most this large: a
// steady stream of messages up to 64 KiB allocates nothing; at most 1.3 MiB a session.
constexpr std::size_t kMaxSpare = 16;
constexpr std::size_t kMaxSpareBytes = 80 * 1024;
using Clock = std::chrono::steady_clock;

}  // namespace

Result<std::shared_ptr<Session>, Closed> Session::Create(asio::ip::tcp::socket socket,
                                                         TransportConfig transport,
                                                         SessionConfig config) {
  auto t = Transport::Create(std::move(transport));
  if (!t) return Unexpected<Closed>{t.error()};
  return std::shared_ptr<Session>(new Session(std::move(socket), std::move(*t), config));
}

Session::Session(asio::ip::tcp::socket socket, Transport transport, SessionConfig config)
    : socket_(std::move(socket)),
      transport_(std::move(transport)),
      config_(config),
      write_signal_(socket_.get_executor()),
      room_signal_(socket_.get_executor()),
      ready_signal_(socket_.get_executor()) {
  write_signal_.expires_at(Clock::time_point::max());
  room_signal_.expires_at(Clock::time_point::max());
  ready_signal_.expires_at(Clock::time_point::max());
  started_ = last_progress_ = last_sent_ = Clock::now();
  // Messages are whole when queued; waiting to fill a segment (Nagle) only adds latency.
  std::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
}

asio::awaitable<void> Session::Run() {
  auto self = shared_from_this();  // the coroutines own the session while they run
  started_ = last_progress_ = last_sent_ = Clock::now();  // the handshake clock starts here
  auto first = transport_.Start();
  if (!first) {
    Close(first.error().reason, first.error().message);
  } else if (!first->empty()) {
    Enqueue(std::move(*first));
  }
  if (!closed_) co_await (ReadLoop() || WriteLoop() || Watchdog());
  if (!closed_) Close(CloseReason::kShutdown);
}

void Session::Enqueue(Bytes wire) {
  queued_bytes_ += wire.size();
  queue_.push_back(std::move(wire));
  Wake(write_signal_);
}

asio::awaitable<bool> Session::WaitReady() {
  auto self = shared_from_this();
  while (!transport_.ready() && !closed_) co_await ready_signal_.async_wait(kUseTuple);
  co_return transport_.ready() && !closed_;
}

asio::awaitable<bool> Session::Send(Bytes message) {
  auto self = shared_from_this();
  // Backpressure: wait for room rather than letting the queue grow.
  while (!closed_ && !shutting_down_ && queued_bytes_ > config_.max_queued_write_bytes) {
    co_await room_signal_.async_wait(kUseTuple);
  }
  co_return Post(message);
}

bool Session::Post(ByteView message) {
  if (closed_ || shutting_down_ || !transport_.ready()) return false;
  if (queued_bytes_ + message.size() > config_.max_queue_bytes) {
    Close(CloseReason::kOverloaded, "the send queue reached " +
                                        std::to_string(config_.max_queue_bytes >> 20) +
                                        " MiB: the peer does not read what it asks for");
    return false;
  }
  Bytes wire;
  if (!spare_.empty()) {
    wire = std::move(spare_.back());
    spare_.pop_back();
  }
  if (auto err = transport_.SendInto(message, wire)) {
    // Too large to send is the caller's mistake; nothing was encrypted, the session goes on.
    if (err->reason != CloseReason::kMessageTooLarge) Close(err->reason, err->message);
    return false;
  }
  Enqueue(std::move(wire));
  return true;
}

asio::awaitable<void> Session::ReadLoop() {
  // Small until the peer has proved it belongs to the circle: unauthenticated connections are
  // cheap to open, so they get little memory.
  std::vector<std::uint8_t> buf(kHandshakeReadChunk);
  while (!closed_) {
    if (transport_.ready() && buf.size() < kReadChunk) buf.resize(kReadChunk);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), kUseTuple);
    if (ec) {
      if (shutting_down_) {
        Close(CloseReason::kShutdown);
      } else if (!transport_.ready()) {
        Close(CloseReason::kHandshakeFailed,
              "peer closed during the handshake (wrong network key or circle?): " + ec.message());
      } else {
        Close(ec == asio::error::eof ? CloseReason::kPeerClosed : CloseReason::kIoError,
              ec.message());
      }
      co_return;
    }
    auto out = transport_.Feed(ByteView(buf.data(), n));
    if (!out) {
      Close(out.error().reason, out.error().message);
      co_return;
    }
    if (out->keepalive || out->became_ready || !out->to_send.empty() || !out->messages.empty()) {
      last_progress_ = Clock::now();
    }
    if (!out->to_send.empty()) Enqueue(std::move(out->to_send));
    if (out->became_ready) {
      Wake(ready_signal_);
      if (on_ready_) {
        auto h = std::move(on_ready_);
        on_ready_ = nullptr;
        h();
        if (closed_) co_return;
      }
    }
    for (auto& m : out->messages) {
      if (closed_) co_return;
      try {
        if (on_message_) on_message_(ByteView(m));
        transport_.Recycle(std::move(m));
      } catch (const std::exception& e) {
        Close(CloseReason::kProtocol, std::string("message handler failed: ") + e.what());
        co_return;
      }
    }
  }
}

asio::awaitable<void> Session::WriteLoop() {
  while (!closed_) {
    if (queue_.empty()) {
      if (shutting_down_ && !half_closed_) {
        std::error_code ignored;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        half_closed_ = true;
        shutdown_at_ = Clock::now();  // flushed: now give the peer close_timeout to close
      }
      write_signal_.expires_at(Clock::time_point::max());
      co_await write_signal_.async_wait(kUseTuple);
      continue;
    }
    // Gather what is queued into one write: fewer system calls and wake-ups per byte.
    std::vector<Bytes> batch;
    std::vector<asio::const_buffer> buffers;
    std::size_t batch_bytes = 0;
    while (!queue_.empty() && batch.size() < kMaxGather) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
      batch_bytes += batch.back().size();
    }
    for (const auto& b : batch) buffers.push_back(asio::buffer(b));
    write_started_ = Clock::now();
    auto [ec, n] = co_await asio::async_write(socket_, buffers, kUseTuple);
    write_started_.reset();
    queued_bytes_ = closed_ ? 0 : queued_bytes_ - batch_bytes;  // Close() empties the queue
    for (auto& b : batch) {
      if (spare_.size() >= kMaxSpare || b.capacity() > kMaxSpareBytes) break;
      b.clear();
      spare_.push_back(std::move(b));
    }
    Wake(room_signal_);
    if (ec) {
      Close(CloseReason::kIoError, ec.message());
      co_return;
    }
    last_sent_ = Clock::now();
  }
}

asio::awaitable<void> Session::Watchdog() {
  asio::steady_timer timer(socket_.get_executor());
  const auto tick = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(10),
      std::min({config_.handshake_timeout, config_.idle_timeout, config_.keepalive_interval}) / 4);
  while (!closed_) {
    timer.expires_after(tick);
    co_await timer.async_wait(kUseTuple);
    if (closed_) co_return;
    const auto now = Clock::now();
    if (!transport_.ready()) {
      if (now - started_ > config_.handshake_timeout) {
        Close(CloseReason::kHandshakeTimeout, "handshake not finished in time");
        co_return;
      }
      continue;
    }
    if (shutdown_at_ && now - *shutdown_at_ > config_.close_timeout) {
      Close(CloseReason::kShutdown);
      co_return;
    }
    if (write_started_ && now - *write_started_ > config_.idle_timeout) {
      Close(CloseReason::kIdle, "peer does not read what we send");
      co_return;
    }
    if (now - last_progress_ > config_.idle_timeout) {
      Close(CloseReason::kIdle, "no complete message within the idle timeout");
      co_return;
    }
    if (!shutting_down_ && queue_.empty() && now - last_sent_ > config_.keepalive_interval) {
      auto k = transport_.Keepalive();
      if (!k) {
        Close(k.error().reason, k.error().message);
        co_return;
      }
      Enqueue(std::move(*k));
    }
  }
}

void Session::Shutdown() {
  if (closed_ || shutting_down_) return;
  if (!transport_.ready()) {
    Close(CloseReason::kShutdown);
    return;
  }
  shutting_down_ = true;
  Wake(write_signal_);
  Wake(room_signal_);
}

void Session::Close(CloseReason why, std::string message) {
  if (closed_) return;
  closed_ = Closed{why, std::move(message)};
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  Wake(write_signal_);
  Wake(room_signal_);
  Wake(ready_signal_);
  queue_.clear();
  queued_bytes_ = 0;
  // Handlers may hold the session; release them so it can go.
  auto on_close = std::move(on_close_);
  on_close_ = nullptr;
  on_message_ = nullptr;
  on_ready_ = nullptr;
  if (on_close) on_close(*closed_);
}

}  // namespace polder::net
