// Fuzz target: the TCP frame reader and the application-message reassembler, fed in random splits.
#include <cstddef>
#include <cstdint>

#include "node/net/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0];
  polder::ByteView in(data + 1, size - 1);
  polder::net::FrameReader frames;
  polder::net::AppReader app(1 << 16);
  for (std::size_t pos = 0; pos < in.size();) {
    const std::size_t n = std::min(in.size() - pos, split + 1);
    auto out = frames.Feed(in.subspan(pos, n));
    if (!out) return 0;
    for (const auto& f : *out) {
      if (f.size() > 65535) __builtin_trap();  // the reader promised never to exceed a frame
      if (!app.Feed(f)) return 0;
    }
    if (frames.buffered() > 65535) __builtin_trap();
    pos += n;
  }
  return 0;
}
