// Bundle files move events between replicas (export / import, "sneakernet").
//
//   "POLDERB1" | circle id (32) | event count (u64 BE) | count × (length u32 BE | SignedEvent) |
//   BLAKE2b-256 with domain "polder-bundle-v1" over every byte before it (32)
//
// A reader checks the whole file's hash, every length and the count before handing out a single
// event, so a damaged or truncated file is refused whole and changes nothing.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include "proto/bytes.h"

namespace polder::storage {

inline constexpr std::string_view kBundleMagic = "POLDERB1";

class BundleWriter {
 public:
  // Creates `path` (fails if it exists unless `overwrite`).
  static Result<BundleWriter> Create(const std::filesystem::path& path, const CircleId& circle,
                                     bool overwrite);
  Status Add(ByteView event);
  // Writes the count and hash, fsyncs and renames the temporary file into place.
  Status Finish();
  ~BundleWriter();
  BundleWriter(BundleWriter&&) noexcept;
  BundleWriter& operator=(BundleWriter&&) = delete;

 private:
  BundleWriter() = default;
  struct State;
  std::unique_ptr<State> s_;
};

struct BundleInfo {
  CircleId circle;
  std::uint64_t events = 0;
};

// Checks the file completely; then, if `sink` is given, calls it with each event in file order.
Result<BundleInfo> ReadBundle(const std::filesystem::path& path,
                              const std::function<Status(ByteView)>& sink);

}  // namespace polder::storage
