#include "node/net/frame.h"

#include <algorithm>

namespace polder::net {

Result<std::vector<Bytes>> FrameReader::Feed(ByteView in) {
  std::vector<Bytes> out;
  Status s = FeedFrames(in, [&](ByteView frame) -> Status {
    out.emplace_back(frame.begin(), frame.end());
    return {};
  });
  if (!s) return Unexpected<Error>{s.error()};
  return out;
}

void AppendFrame(Bytes& out, ByteView message) {
  out.push_back(static_cast<std::uint8_t>(message.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(message.size() & 0xff));
  out.insert(out.end(), message.begin(), message.end());
}

void AppReader::Recycle(Bytes buffer) {
  if (spare_.size() < kMaxSpare && buffer.capacity() <= kMaxSpareBytes) {
    spare_.push_back(std::move(buffer));
  }
}

Result<std::vector<Bytes>> AppReader::Feed(ByteView in) {
  std::vector<Bytes> out;
  std::size_t pos = 0;
  while (pos < in.size()) {
    if (!want_) {
      header_[header_have_++] = in[pos++];
      if (header_have_ < 4) continue;
      const std::size_t len = static_cast<std::size_t>(header_[0]) << 24 |
                              static_cast<std::size_t>(header_[1]) << 16 |
                              static_cast<std::size_t>(header_[2]) << 8 | header_[3];
      header_have_ = 0;
      if (len > max_) {
        return Fail(Errc::kLimit, "application message of " + std::to_string(len) +
                                      " bytes exceeds the limit of " + std::to_string(max_));
      }
      want_ = len;
      if (!spare_.empty()) {
        body_ = std::move(spare_.back());
        spare_.pop_back();
      }
      body_.clear();
      body_.reserve(std::min<std::size_t>(len, 64 << 10));  // more only as bytes arrive
      if (len == 0) {
        out.emplace_back();
        want_.reset();
      }
      continue;
    }
    // Grow with what actually arrives, not with what the prefix promised.
    const std::size_t take = std::min(*want_ - body_.size(), in.size() - pos);
    body_.insert(body_.end(), in.begin() + static_cast<long>(pos),
                 in.begin() + static_cast<long>(pos + take));
    pos += take;
    if (body_.size() == *want_) {
      out.push_back(std::move(body_));
      body_ = Bytes();
      want_.reset();
    }
  }
  return out;
}

}  // namespace polder::net
