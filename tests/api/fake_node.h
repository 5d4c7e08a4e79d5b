// A NodePort for node/api's tests: a node of one member with no replica, run on its own thread
// (an io_context kept busy by a work guard), whose thread a test can block on purpose.
#pragma once

#include <atomic>
#include <future>
#include <string>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "node/api/node_port.h"

namespace polder::testing {

class FakeNode final : public api::NodePort {
 public:
  FakeNode() : thread_([this] { io_.run(); }) {}
  ~FakeNode() override {
    Unblock();
    work_.reset();
    thread_.join();
  }

  asio::any_io_executor executor() { return io_.get_executor(); }
  // Keeps the node's thread busy until Unblock(); tasks posted meanwhile wait in the queue.
  void Block() {
    asio::post(io_, [released = released_] { released.wait(); });
  }
  void Unblock() {
    if (!unblocked_.exchange(true)) release_.set_value();
  }
  // Returns once every task posted before this call has run (or was skipped as cancelled).
  void Drain() {
    std::promise<void> done;
    asio::post(io_, [&] { done.set_value(); });
    done.get_future().wait();
  }

  v1::NodeView View() override {
    v1::NodeView v;
    v.set_listen("127.0.0.1:7714");
    v.set_pid(42);
    return v;
  }
  api::MetricsSnapshot Metrics() override {
    api::MetricsSnapshot m;
    m.sync.events_authored = authored;
    return m;
  }
  // Authors comments only; a comment without text is refused, as the real rules would.
  Result<v1::EventReceipt> Author(const v1::EventBody& payload) override {
    if (!payload.has_comment()) return Fail(Errc::kRefused, "this fake authors comments only");
    if (payload.comment().text().empty()) return Fail(Errc::kRefused, "empty comment");
    last_text = payload.comment().text();
    v1::EventReceipt r;
    r.set_event_id(std::string(64, 'a'));
    r.set_kind("comment");
    r.set_seq(++authored);
    return r;
  }

  std::atomic<std::uint64_t> authored{0};  // events "authored" so far
  std::string last_text;                   // node thread only; read after Drain()

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::atomic<bool> unblocked_{false};
  std::thread thread_;
};

}  // namespace polder::testing
