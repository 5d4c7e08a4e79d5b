// ApiClient: a command's connection to the node running for its home (local_api.h), found
// through the home's api.json and api.token (files.h).
//
// Thread-safety: a client is a value (address and token); each call opens its own connection,
// so calls from several threads are fine.
#pragma once

#include <optional>
#include <string>

#include "node/api/files.h"
#include "polder/v1/api.pb.h"
#include "polder/v1/event.pb.h"
#include "proto/result.h"

namespace polder::api {

class ApiClient {
 public:
  // A client if api.json names a live process whose /healthz answers; otherwise nullopt.
  static std::optional<ApiClient> Find(const ApiFiles& files);

  // POST /api/v1/author. Errc::kUnavailable: the node was busy and authored nothing.
  Result<v1::EventReceipt> Author(const v1::EventBody& body);
  // GET /api/v1/node.
  Result<v1::NodeView> NodeInfo();
  const std::string& address() const { return address_.text; }

 private:
  Address address_;
  std::string token_;
};

}  // namespace polder::api
