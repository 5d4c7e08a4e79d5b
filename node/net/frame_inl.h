#pragma once

#include <algorithm>

#include "node/net/limits.h"

namespace polder::net {

template <class F>
void ChunkAppMessage(ByteView message, F&& chunk) {
  const auto n = static_cast<std::uint32_t>(message.size());
  std::uint8_t header[4] = {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                            static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
  Bytes first;
  const std::size_t first_body = std::min(message.size(), kMaxChunkBytes - 4);
  first.reserve(4 + first_body);
  first.insert(first.end(), header, header + 4);
  first.insert(first.end(), message.begin(), message.begin() + static_cast<long>(first_body));
  chunk(ByteView(first));
  for (std::size_t pos = first_body; pos < message.size(); pos += kMaxChunkBytes) {
    chunk(message.subspan(pos, std::min(kMaxChunkBytes, message.size() - pos)));
  }
}

}  // namespace polder::net
