#include "node/api/node_handle.h"

#include <condition_variable>
#include <mutex>

#include <asio/post.hpp>

namespace polder::api {
namespace {

// One task's life, shared by the waiting caller and the posted closure. The state moves
// kQueued → kRunning → kDone on the node's thread, or kQueued → kCancelled on the caller's; the
// mutex makes the two first steps exclusive, so a task either starts or is cancelled, never both.
struct Ticket {
  enum class State { kQueued, kRunning, kDone, kCancelled };
  std::mutex mutex;
  std::condition_variable changed;
  State state = State::kQueued;
};

}  // namespace

NodeHandle::NodeHandle(asio::any_io_executor node_executor, NodePort& port,
                       std::chrono::milliseconds wait)
    : executor_(std::move(node_executor)), port_(port), wait_(wait) {}

bool NodeHandle::RunOrCancel(std::function<void(NodePort&)> task) {
  auto ticket = std::make_shared<Ticket>();
  asio::post(executor_, [ticket, task = std::move(task), port = &port_] {
    {
      std::lock_guard lock(ticket->mutex);
      if (ticket->state == Ticket::State::kCancelled) return;  // its caller gave up
      ticket->state = Ticket::State::kRunning;
    }
    // Done even if the task throws (the exception then goes on to the node's run loop): the
    // caller must never wait for a task that can no longer finish.
    struct MarkDone {
      Ticket& ticket;
      ~MarkDone() {
        {
          std::lock_guard lock(ticket.mutex);
          ticket.state = Ticket::State::kDone;
        }
        ticket.changed.notify_all();
      }
    } mark_done{*ticket};
    task(*port);
  });
  std::unique_lock lock(ticket->mutex);
  const auto started = [&] { return ticket->state != Ticket::State::kQueued; };
  if (!ticket->changed.wait_for(lock, wait_, started)) {
    ticket->state = Ticket::State::kCancelled;
    return false;
  }
  // Started: its effects are real, so the caller must get its result, however long it takes.
  ticket->changed.wait(lock, [&] { return ticket->state == Ticket::State::kDone; });
  return true;
}

}  // namespace polder::api
