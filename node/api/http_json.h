// How the local API speaks: messages as protobuf's JSON mapping (field names as in the .proto),
// errors as an ErrorView with an HTTP status, for the server and the client alike.
#pragma once

#include <string>

#include <google/protobuf/message.h>

#include "proto/result.h"

namespace polder::api {

inline constexpr const char* kJsonContentType = "application/json";

std::string ToJson(const google::protobuf::Message& message);
// False if `json` is not a `message` in JSON.
[[nodiscard]] bool FromJson(const std::string& json, google::protobuf::Message* message);
// An ErrorView {code, message} in JSON.
std::string ErrorJson(const Error& error);

// The HTTP status an error is answered with, and the error code a client reads back from one.
int HttpStatusFor(Errc code);
Errc ErrcForHttpStatus(int status);

}  // namespace polder::api
