// Fuzz target: bundle files (storage/bundle.h), then their import.
//
// The first input byte chooses whether the harness repairs the trailing hash (bit 0): a reader
// refuses a file whose hash does not match before looking at anything else, so without the
// repair the fuzzer would never get past it. The rest is the file. A file that reads must hold
// exactly the count its header states; its events are ingested into a replica of the circle it
// names, whose derived state must then match a rebuild. Nothing may crash, leak or run away.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "crypto/hash.h"
#include "storage/bundle.h"
#include "storage/replica.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool repair = data[0] & 1;
  std::vector<std::uint8_t> file(data + 1, data + size);
  if (repair && file.size() >= 32) {
    polder::crypto::Hasher h(polder::crypto::kDomainBundle);
    h.Update(polder::ByteView(file.data(), file.size() - 32));
    const auto d = h.Final();
    std::copy(d.bytes.begin(), d.bytes.end(), file.end() - 32);
  }
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("polder-bundle-fuzz-" + std::to_string(::getpid()));
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(file.data(), 1, file.size(), f);
    std::fclose(f);
  } else {
    __builtin_trap();
  }
  std::vector<polder::Bytes> events;
  auto info = polder::storage::ReadBundle(path, [&](polder::ByteView e) -> polder::Status {
    events.emplace_back(e.begin(), e.end());
    return {};
  });
  std::filesystem::remove(path);
  if (!info) return 0;
  if (info->events != events.size()) __builtin_trap();
  auto replica = polder::storage::Replica::Open(":memory:");
  if (!replica || !(*replica)->SetCircle(info->circle)) __builtin_trap();
  if (!(*replica)->Ingest(events, polder::storage::IngestOptions(1'800'000'000'000))) {
    __builtin_trap();
  }
  auto v = (*replica)->Verify();
  if (!v || !v->derived_state_matches) __builtin_trap();
  return 0;
}
