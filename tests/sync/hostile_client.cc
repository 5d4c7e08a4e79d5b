#include "tests/sync/hostile_client.h"

#include <chrono>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/write.hpp>
#include <sys/socket.h>

#include "tests/sync/harness.h"

namespace polder::testing {

using namespace std::chrono_literals;

net::TransportConfig MemberTransport(Network& net, int member) {
  net::TransportConfig tc;
  tc.initiator = true;
  tc.circle = net.circle();
  tc.network_key = net.network_key();
  tc.identity = &net.member(member).session->key();
  tc.is_member = [](const MemberKey&) { return true; };
  return tc;
}

HostileClient::HostileClient(asio::ip::tcp::endpoint node, net::TransportConfig tc,
                             std::function<std::optional<Bytes>()> next)
    : next_(std::move(next)) {
  thread_ = std::thread([this, node, tc = std::move(tc)]() mutable { Run(node, std::move(tc)); });
}

HostileClient::~HostileClient() {
  stop_ = true;
  // A blocking write to a node that no longer reads never returns by itself: end it.
  if (const int fd = fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
  thread_.join();
}

bool HostileClient::WaitSent(std::chrono::milliseconds limit) const {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  return done_ && failure_.empty();
}

std::string HostileClient::failure() const { return done_ ? failure_ : ""; }

void HostileClient::Run(asio::ip::tcp::endpoint node, net::TransportConfig tc) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  asio::error_code ec;
  sock.connect(node, ec);
  if (!ec) fd_ = sock.native_handle();
  auto t = net::Transport::Create(std::move(tc));
  if (ec || !t) {
    failure_ = "cannot connect";
    done_ = true;
    return;
  }
  auto first = t->Start();
  if (!first) {
    failure_ = "cannot start the handshake";
    done_ = true;
    return;
  }
  asio::write(sock, asio::buffer(*first), ec);
  std::vector<std::uint8_t> buf(64 * 1024);
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (!ec && !t->ready() && !stop_ && std::chrono::steady_clock::now() < limit) {
    const std::size_t n = sock.read_some(asio::buffer(buf), ec);
    if (ec) break;
    auto out = t->Feed(ByteView(buf.data(), n));
    if (!out) break;
    if (!out->to_send.empty()) asio::write(sock, asio::buffer(out->to_send), ec);
  }
  if (!t->ready()) {
    failure_ = "no handshake";
    done_ = true;
    return;
  }
  while (!ec && !stop_) {
    auto m = next_();
    if (!m) break;
    auto wire = t->Send(*m);
    if (!wire) break;
    asio::write(sock, asio::buffer(*wire), ec);
    ++sent_;
  }
  done_ = true;
  // Never read: hold the socket open until told to stop.
  while (!stop_) std::this_thread::sleep_for(10ms);
  fd_ = -1;
}

}  // namespace polder::testing
