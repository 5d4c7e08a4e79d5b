// NodeApiPort: a Node as the local API sees it (api::NodePort, node/api/node_port.h). The API's
// HTTP threads call it only on the node's thread, through api::NodeHandle.
//
// Usage (the node's owner):
//   app::NodeApiPort port(node);
//   api::LocalApi api(io.get_executor(), port, home.api_files(), settings);
#pragma once

#include "node/api/node_port.h"
#include "node/app/node.h"

namespace polder::app {

class NodeApiPort final : public api::NodePort {
 public:
  explicit NodeApiPort(Node& node) : node_(node) {}  // `node` must outlive this

  v1::NodeView View() override { return node_.View(); }
  api::MetricsSnapshot Metrics() override { return node_.Metrics(); }
  // Node::Author with the client's payload: author, seq, prev and timestamp are the node's, and
  // so is the circle id once the node has one.
  Result<v1::EventReceipt> Author(const v1::EventBody& payload) override;

 private:
  Node& node_;
};

}  // namespace polder::app
