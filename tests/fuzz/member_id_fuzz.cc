// Fuzz target: the member-ID parser. Whatever parses must format back to the same key.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/member_id.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto key = polder::crypto::ParseMemberId(text);
  if (key) {
    auto again = polder::crypto::ParseMemberId(polder::crypto::FormatMemberId(*key));
    if (!again || *again != *key) __builtin_trap();
  }
  (void)polder::crypto::Base32Decode(text);
  return 0;
}
