// A member's misbehaving client, for the hostile-peer tests and the attack bench: on a thread of
// its own it connects to a node over a blocking socket, completes the Noise handshake with `tc`
// (a member's identity and the network key), then sends the application messages `next` gives
// (until it gives none) and never reads a byte. It stops when destroyed (or its socket fails).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <asio/ip/tcp.hpp>

#include "node/net/transport.h"
#include "proto/bytes.h"

namespace polder::testing {

class Network;

// The session configuration of member `member`'s own client (it dials), for a hostile client.
net::TransportConfig MemberTransport(Network& net, int member);

class HostileClient {
 public:
  HostileClient(asio::ip::tcp::endpoint node, net::TransportConfig tc,
                std::function<std::optional<Bytes>()> next);
  ~HostileClient();
  HostileClient(const HostileClient&) = delete;
  HostileClient& operator=(const HostileClient&) = delete;

  // Waits (at most `limit`) until it has sent everything `next` gave; false if it could not.
  bool WaitSent(std::chrono::milliseconds limit) const;
  int sent() const { return sent_; }
  // Why it could not connect or handshake ("" if it did).
  std::string failure() const;

 private:
  void Run(asio::ip::tcp::endpoint node, net::TransportConfig tc);

  std::function<std::optional<Bytes>()> next_;
  std::atomic<bool> stop_{false}, done_{false};
  std::atomic<int> sent_{0};
  std::atomic<int> fd_{-1};  // the socket, while connected
  std::string failure_;      // written before done_ is set
  std::thread thread_;
};

}  // namespace polder::testing
