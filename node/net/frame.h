// Byte-level framing, sans-I/O.
//
// On TCP, every Noise message (handshake or transport) is preceded by its length, 2 bytes
// big-endian. Inside the encrypted transport messages, application messages form a stream:
// each is a 4-byte big-endian length and the message bytes, split across as many transport
// messages as needed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/bytes.h"

namespace polder::net {

// Cuts a TCP byte stream into Noise messages. Never holds more than one unfinished frame
// (at most 65535 bytes), whatever the input.
class FrameReader {
 public:
  // Appends `incoming`; returns the frames it completed. A zero-length frame is an error.
  Result<std::vector<Bytes>> Feed(ByteView incoming);
  // The same without copies where possible: calls `on_frame(ByteView) -> Status` for each
  // complete frame (frames lying whole in `incoming` are passed as views into it) and stops at
  // the first error it returns.
  template <class F>
  Status FeedFrames(ByteView incoming, F&& on_frame);
  std::size_t buffered() const { return partial_.size(); }

 private:
  std::uint8_t header_[2] = {};
  std::size_t header_have_ = 0;
  std::size_t want_ = 0;  // length of the frame being read, once the header is complete
  Bytes partial_;
};

// Prefixes a Noise message with its 2-byte length. REQUIRES: message.size() <= 65535.
void AppendFrame(Bytes& out, ByteView message);

// Reassembles application messages from decrypted transport plaintexts.
class AppReader {
 public:
  explicit AppReader(std::size_t max_message) : max_(max_message) {}
  // Fails when a length prefix exceeds the limit (before allocating anything for it).
  Result<std::vector<Bytes>> Feed(ByteView plaintext);
  bool in_message() const { return header_have_ > 0 || want_.has_value(); }
  // Takes back a delivered message's buffer to hold a later message: in a steady stream no
  // allocation per message. Keeps at most kMaxSpare buffers of at most kMaxSpareBytes each.
  void Recycle(Bytes buffer);
  static constexpr std::size_t kMaxSpare = 2;
  static constexpr std::size_t kMaxSpareBytes = 256 * 1024;

 private:
  std::size_t max_;
  std::uint8_t header_[4] = {};
  std::size_t header_have_ = 0;
  std::optional<std::size_t> want_;
  Bytes body_;
  std::vector<Bytes> spare_;
};

// Splits one application message (with its length prefix) into plaintext chunks of at most
// kMaxChunkBytes, calling `chunk(ByteView) -> bool` for each until it returns false. Only the
// first chunk (prefix + start of the message) is copied, into `scratch`.
template <class F>
bool ChunkAppMessage(ByteView message, Bytes& scratch, F&& chunk);

}  // namespace polder::net

#include "node/net/frame_inl.h"
