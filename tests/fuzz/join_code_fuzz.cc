// Fuzz target: the join-code parser (text a user pastes).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/app/join_code.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)polder::app::DecodeJoinCode(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
