// Internal to node/app: one connection of a running node (node.cc and peering.cc share it).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "node/app/node.h"
#include "node/net/session.h"

namespace polder::app {

struct Node::Conn {
  std::shared_ptr<net::Session> session;
  bool outbound = false;
  std::string address;  // dialed address (outbound) or the remote endpoint (inbound)
  std::optional<sync::PeerId> peer;
  MemberKey member{};
  std::size_t key_choice = 0;  // outbound: the network key dialed with (Node::TransportFor)
  bool refused = false;        // the handshake named a member this node does not accept now
  std::string ip;              // inbound: the remote address without the port
  std::chrono::steady_clock::time_point accepted{};  // inbound: when the connection came
  std::chrono::steady_clock::time_point ready_at{};  // when the session became ready
  bool evicted = false;  // inbound: closed in its handshake to make room for a newer connection
};

}  // namespace polder::app
