// NodeHandle: how the API's HTTP threads get work done on the node's thread (STYLE H6). Node
// state is touched only on that thread, so a request hands it a task and waits for the result.
//
// What a caller of Run can rely on, whatever the timing:
//   * The task owns everything it works on: it is moved into the handle, and nothing it uses
//     lives on the caller's stack. A task may outlive its caller's wait; its inputs always do.
//   * If the node's thread has not started the task within `wait`, the caller gives up: the task
//     is cancelled, will never do anything, and Run returns Errc::kUnavailable.
//   * Once the node's thread has started the task, Run waits for it to finish, however long it
//     takes, and returns what it returned.
// So an error from Run always means the task had no effect, and a value is always its result.
//
// Thread-safety: Run may be called from any number of threads at once, never from the node's
// own thread (it would wait for itself). The executor's context and `port` must outlive every
// Run call; a cancelled task left in the executor's queue touches neither.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <asio/any_io_executor.hpp>

#include "node/api/node_port.h"
#include "proto/result.h"

namespace polder::api {

class NodeHandle {
 public:
  NodeHandle(asio::any_io_executor node_executor, NodePort& port, std::chrono::milliseconds wait);

  // Runs `task(port)` on the node's thread, as described above. `task` is moved into the handle
  // (F must be move-constructible); its result is moved out to the caller.
  template <class F>
  Result<std::invoke_result_t<F&, NodePort&>> Run(F task);

  std::chrono::milliseconds wait() const { return wait_; }

 private:
  // Posts `task`. True once it has run; false if it was cancelled before it started.
  bool RunOrCancel(std::function<void(NodePort&)> task);

  asio::any_io_executor executor_;
  NodePort& port_;
  std::chrono::milliseconds wait_;
};

template <class F>
Result<std::invoke_result_t<F&, NodePort&>> NodeHandle::Run(F task) {
  using T = std::invoke_result_t<F&, NodePort&>;
  // The result slot and the task are shared with the posted closure, never borrowed from here.
  auto slot = std::make_shared<std::optional<T>>();
  auto owned = std::make_shared<F>(std::move(task));
  if (!RunOrCancel([slot, owned](NodePort& port) { slot->emplace((*owned)(port)); })) {
    return Fail(Errc::kUnavailable, "the node is busy: it did not take the request within " +
                                        std::to_string(wait_.count()) + " ms; nothing was done");
  }
  if (!slot->has_value()) return Fail(Errc::kInternal, "the node's task failed");
  return std::move(**slot);
}

}  // namespace polder::api
