// Fuzz target: the signed-event decoder and the whole ingest gate.
//
// The input is a sequence of records: one byte choosing a mode and a signer, two bytes of length,
// then that many bytes. Mode 0 ingests the bytes as a raw SignedEvent (decoder and refusals);
// mode 1 parses them as an EventBody, sets its circle and author, signs it with one of four fixed
// member keys and ingests it, so the stateful part of the gate (pending, void, forks, rebuilds) is
// reached with valid signatures. Derived state must always match a rebuild.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "storage/replica.h"
#include "storage/rulebook/sign.h"
#include "tests/fuzz/fuzz_circle.h"

using polder::Bytes;
using polder::ByteView;
using World = polder::fuzz::FuzzCircle;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  auto replica = polder::storage::Replica::Open(":memory:");
  if (!replica) __builtin_trap();
  auto& r = **replica;
  if (!r.SetCircle(world.circle)) __builtin_trap();
  std::vector<Bytes> batch = {world.charter};
  std::size_t pos = 0;
  while (pos + 3 <= size && batch.size() < 64) {
    const std::uint8_t mode = data[pos];
    const std::size_t len = static_cast<std::size_t>(data[pos + 1]) << 8 | data[pos + 2];
    pos += 3;
    const std::size_t n = std::min(len, size - pos);
    ByteView chunk(data + pos, n);
    pos += n;
    if ((mode & 1) == 0) {
      batch.emplace_back(chunk.begin(), chunk.end());
      continue;
    }
    polder::v1::EventBody body;
    if (!body.ParseFromArray(chunk.data(), static_cast<int>(chunk.size()))) continue;
    const auto& key = world.keys[(mode >> 1) % world.keys.size()];
    body.set_circle_id(world.circle.str());
    body.set_author(key.public_key().str());
    batch.push_back(polder::rulebook::Sign(key, body));
  }
  // Two batches, so that both the in-batch and the across-batch paths run.
  const std::size_t half = batch.size() / 2;
  const polder::storage::IngestOptions opt(1'800'000'000'000);
  if (!r.Ingest(std::span<const Bytes>(batch.data(), half), opt)) __builtin_trap();
  if (!r.Ingest(std::span<const Bytes>(batch.data() + half, batch.size() - half), opt)) {
    __builtin_trap();
  }
  auto v = r.Verify();
  if (!v || !v->derived_state_matches) __builtin_trap();
  return 0;
}
