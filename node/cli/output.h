// How the CLI speaks: tables for people, JSON (protobuf's mapping) for programs, exit codes.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "proto/bytes.h"
#include "proto/result.h"

namespace polder::cli {

// Exit codes (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRefused = 65;  // input refused by validation
inline constexpr int kExitExists = 73;   // identity already exists
inline constexpr int kExitBusy = 75;     // home locked by another process
inline constexpr int kExitPermission = 77;

int ExitCodeFor(const Error& e);

// An id the user gave (a prefix) that names nothing is refused input (exit 65), like an
// ambiguous or malformed one; kNotFound (exit 1) stays for what the program itself looked for.
Result<EventId> GivenId(Result<EventId> resolved);

// One JSON document, snake_case field names, all fields printed.
std::string ToJson(const google::protobuf::Message& m);

// A simple left-aligned table.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

std::string FormatTime(std::int64_t ms);  // UTC, "2026-11-23 16:40"

}  // namespace polder::cli
