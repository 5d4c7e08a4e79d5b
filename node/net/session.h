// Session: one encrypted connection to a peer, driving a Transport over a TCP socket with Asio
// coroutines. Everything runs on the socket's executor (one thread); other threads post to it.
//
//   Run()      reader, writer and watchdog coroutines; the first to finish ends the session
//   Send()     queues one application message; waits while the write queue holds more than
//              max_queued_write_bytes (a slow reader slows its writer instead of growing memory)
//   Shutdown() flushes what is queued, half-closes, and waits briefly for the peer to close
//
// The watchdog enforces the handshake time limit, the idle timeout (a complete Noise message must
// arrive at least that often, keepalives count, and a write may not stall that long) and sends
// keepalives when we have been quiet.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "node/net/limits.h"
#include "node/net/transport.h"

namespace polder::net {

struct SessionConfig {
  std::chrono::milliseconds handshake_timeout = kDefaultHandshakeTimeout;
  std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout;
  std::chrono::milliseconds keepalive_interval = kDefaultKeepaliveInterval;
  std::chrono::milliseconds close_timeout = std::chrono::seconds(2);
  std::size_t max_queued_write_bytes = kDefaultMaxQueuedWriteBytes;
  std::size_t max_queue_bytes = kDefaultMaxQueueBytes;  // Post() closes the session past it
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using MessageHandler = std::function<void(ByteView)>;
  using CloseHandler = std::function<void(const Closed&)>;

  static Result<std::shared_ptr<Session>, Closed> Create(asio::ip::tcp::socket socket,
                                                         TransportConfig transport,
                                                         SessionConfig config);

  // Called on the session's executor for each application message, in order. The view is
  // valid only during the call (its buffer is reused); copy what must outlive it.
  void on_message(MessageHandler h) { on_message_ = std::move(h); }
  // Called once, when the handshake completes, before any message is delivered.
  void on_ready(std::function<void()> h) { on_ready_ = std::move(h); }
  // Called once, when the session ends, with the reason.
  void on_close(CloseHandler h) { on_close_ = std::move(h); }

  asio::awaitable<void> Run();
  // Resolves once the handshake is done (true) or the session closed first (false).
  asio::awaitable<bool> WaitReady();
  // Queues `message`; false if the session is closed (or closes while waiting for room).
  asio::awaitable<bool> Send(Bytes message);
  // Queues `message` without waiting for room (the caller bounds what it queues, e.g. by
  // credit, and watches queued_bytes()); false if the session is not ready or is closing. When
  // the queue would pass max_queue_bytes the session closes instead (kOverloaded): the peer does
  // not read what it asked for.
  bool Post(ByteView message);
  // Ends the session now with `why` (no flushing).
  void Close(CloseReason why, std::string message = {});
  // Ends the session gracefully: queued messages are sent first.
  void Shutdown();

  bool ready() const { return transport_.ready(); }
  const MemberKey& peer() const { return transport_.peer(); }
  // Which network key opened it (Transport::key_used).
  std::size_t key_used() const { return transport_.key_used(); }
  const std::optional<Closed>& closed() const { return closed_; }
  std::size_t queued_bytes() const { return queued_bytes_; }

 private:
  Session(asio::ip::tcp::socket socket, Transport transport, SessionConfig config);
  asio::awaitable<void> ReadLoop();
  asio::awaitable<void> WriteLoop();
  asio::awaitable<void> Watchdog();
  void Enqueue(Bytes wire);
  void Wake(asio::steady_timer& t) { t.cancel(); }

  asio::ip::tcp::socket socket_;
  Transport transport_;
  SessionConfig config_;
  std::deque<Bytes> queue_;
  // Written buffers kept for the next messages: no allocation (and no page faults from the
  // allocator returning memory) per message in a steady stream.
  std::vector<Bytes> spare_;
  std::size_t queued_bytes_ = 0;
  asio::steady_timer write_signal_;  // the writer waits on it while the queue is empty
  asio::steady_timer room_signal_;   // senders wait on it while the queue is full
  asio::steady_timer ready_signal_;  // WaitReady() waits on it
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_progress_;
  std::chrono::steady_clock::time_point last_sent_;
  std::optional<std::chrono::steady_clock::time_point> shutdown_at_;    // set once flushed
  std::optional<std::chrono::steady_clock::time_point> write_started_;  // a write in flight
  bool shutting_down_ = false;
  bool half_closed_ = false;
  std::optional<Closed> closed_;
  MessageHandler on_message_;
  std::function<void()> on_ready_;
  CloseHandler on_close_;
};

}  // namespace polder::net
