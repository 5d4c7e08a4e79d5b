// NodeHandle: a task runs on the node's thread; a caller that gives up cancels a task that has
// not started, and waits for one that has.
#include "node/api/node_handle.h"

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "tests/api/fake_node.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

TEST(NodeHandle, RunsTheTaskOnTheNodesThreadAndReturnsItsResult) {
  FakeNode node;
  api::NodeHandle handle(node.executor(), node, 5s);
  std::thread::id ran_on;
  auto r = handle.Run([&](api::NodePort& port) {
    ran_on = std::this_thread::get_id();
    return port.View().listen();
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "127.0.0.1:7714");
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(NodeHandle, TaskNotStartedInTimeIsCancelledAndNeverRuns) {
  FakeNode node;
  api::NodeHandle handle(node.executor(), node, 50ms);
  node.Block();
  auto ran = std::make_shared<std::atomic<bool>>(false);
  auto r = handle.Run([ran](api::NodePort&) {
    ran->store(true);
    return 1;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
  node.Unblock();
  node.Drain();  // the cancelled task has had its turn on the node's thread
  EXPECT_FALSE(ran->load());
}

TEST(NodeHandle, TaskStartedInTimeIsWaitedForPastTheWait) {
  FakeNode node;
  api::NodeHandle handle(node.executor(), node, 50ms);
  // The task starts at once but takes four times the wait: its caller still gets its result.
  auto r = handle.Run([](api::NodePort&) {
    std::this_thread::sleep_for(200ms);
    return 7;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
}

TEST(NodeHandle, CancelledTaskKeepsItsInputsUntilItIsDroppedUnrun) {
  FakeNode node;
  api::NodeHandle handle(node.executor(), node, 50ms);
  node.Block();
  std::weak_ptr<std::string> watch;
  {
    // The caller's input goes away with this scope; the queued task holds its own reference.
    auto input = std::make_shared<std::string>(1000, 'x');
    watch = input;
    auto r = handle.Run([input](api::NodePort&) { return input->size(); });
    EXPECT_FALSE(r);
  }
  EXPECT_FALSE(watch.expired());  // still queued, still owned by the task
  node.Unblock();
  node.Drain();
  EXPECT_TRUE(watch.expired());  // skipped on the node's thread and released
  // Later calls are unaffected.
  auto r = handle.Run([](api::NodePort&) { return 3; });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 3);
}

TEST(NodeHandle, ManyCallersEachGetTheirOwnResult) {
  FakeNode node;
  api::NodeHandle handle(node.executor(), node, 5s);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 16; ++i) {
    results.push_back(std::async(std::launch::async, [&handle, i] {
      auto r = handle.Run([i](api::NodePort&) { return i * i; });
      return r ? *r : -1;
    }));
  }
  for (int i = 0; i < 16; ++i) EXPECT_EQ(results[static_cast<std::size_t>(i)].get(), i * i);
}

}  // namespace
}  // namespace polder::testing
