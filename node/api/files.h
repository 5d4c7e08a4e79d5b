// ApiFiles: how a command finds the node running for its home. The node writes two files into
// the home when its API starts:
//   api.json    {"address": "HOST:PORT", "pid": N}   written whole (temporary file + rename)
//   api.token   the bearer token, a secret file (mode 0600, crypto/key_file.h)
// and removes api.json when it stops taking requests. Both are read by ApiClient::Find.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "proto/result.h"

namespace polder::api {

inline constexpr std::string_view kApiTokenHeader = "polder-api-token-v1";

struct ApiFiles {
  std::filesystem::path address;  // api.json
  std::filesystem::path token;    // api.token
};

// A fresh random token, written to files.token (replacing any old one); returns it hex-encoded.
[[nodiscard]] Result<std::string> WriteNewToken(const ApiFiles& files);
// The token in files.token, hex-encoded; nullopt if missing or unreadable.
std::optional<std::string> ReadToken(const ApiFiles& files);

struct Address {
  std::string text;  // "HOST:PORT", as written
  std::string host;
  int port = 0;
  long pid = 0;  // the node's process
};
// Writes api.json for a node of this process listening on host:port.
[[nodiscard]] Status WriteAddress(const ApiFiles& files, const std::string& host, int port);
// What api.json says; nullopt if it is missing or malformed.
std::optional<Address> ReadAddress(const ApiFiles& files);
// Removes api.json (a missing file is fine).
void RemoveAddress(const ApiFiles& files);

}  // namespace polder::api
