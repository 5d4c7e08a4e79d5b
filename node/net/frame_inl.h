#pragma once

#include <algorithm>

#include "node/net/limits.h"

namespace polder::net {

template <class F>
bool ChunkAppMessage(ByteView message, Bytes& scratch, F&& chunk) {
  const auto n = static_cast<std::uint32_t>(message.size());
  const std::size_t first_body = std::min(message.size(), kMaxChunkBytes - 4);
  scratch.assign({static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                  static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  scratch.insert(scratch.end(), message.begin(), message.begin() + static_cast<long>(first_body));
  if (!chunk(ByteView(scratch))) return false;
  for (std::size_t pos = first_body; pos < message.size(); pos += kMaxChunkBytes) {
    if (!chunk(message.subspan(pos, std::min(kMaxChunkBytes, message.size() - pos)))) return false;
  }
  return true;
}

template <class F>
Status FrameReader::FeedFrames(ByteView in, F&& on_frame) {
  std::size_t pos = 0;
  while (pos < in.size()) {
    if (header_have_ == 0 && in.size() - pos >= 2) {
      // Fast path: a whole frame in the input is handed over without copying.
      const std::size_t len = static_cast<std::size_t>(in[pos]) << 8 | in[pos + 1];
      if (len == 0) return Fail(Errc::kRefused, "empty frame");
      if (in.size() - pos - 2 >= len) {
        if (Status s = on_frame(in.subspan(pos + 2, len)); !s) return s;
        pos += 2 + len;
        continue;
      }
    }
    if (header_have_ < 2) {
      header_[header_have_++] = in[pos++];
      if (header_have_ == 2) {
        want_ = static_cast<std::size_t>(header_[0]) << 8 | header_[1];
        if (want_ == 0) return Fail(Errc::kRefused, "empty frame");
        partial_.clear();
        partial_.reserve(want_);  // at most 65535: the header cannot say more
      }
      continue;
    }
    const std::size_t take = std::min(want_ - partial_.size(), in.size() - pos);
    partial_.insert(partial_.end(), in.begin() + static_cast<long>(pos),
                    in.begin() + static_cast<long>(pos + take));
    pos += take;
    if (partial_.size() == want_) {
      header_have_ = 0;
      want_ = 0;
      if (Status s = on_frame(ByteView(partial_)); !s) return s;
      partial_.clear();
    }
  }
  return {};
}

}  // namespace polder::net
