// Fuzz target: the sync protocol's message handler (node/sync/syncer.h) over a replica, through
// the event-store interface, as two connected peers would drive it.
//
// The input is a sequence of records: one byte (bit 0: which of two peers sends; bit 1: the bytes
// are an EventBody to sign with one of four member keys (bits 2-3) and push, else a raw
// SyncMessage; bit 4: tick the clock by 3 s first; bit 5: flush the inbox after), two bytes of
// length, then that many bytes. Whatever arrives, the syncer must not crash, leak or grow without
// bound, and after the last flush its version vector must be the store's.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "node/sync/limits.h"
#include "node/sync/replica_store.h"
#include "node/sync/syncer.h"
#include "storage/replica.h"
#include "storage/rulebook/limits.h"
#include "storage/rulebook/sign.h"
#include "tests/fuzz/fuzz_circle.h"

namespace {

using polder::Bytes;
using polder::ByteView;

// The fuzz circle with keys 1-3 admitted by the founder.
struct World : polder::fuzz::FuzzCircle {
  std::vector<Bytes> events;
  World() {
    events.push_back(charter);
    polder::EventId prev = charter_id;
    for (int i = 1; i < 4; ++i) {
      polder::v1::EventBody a;
      a.set_circle_id(circle.str());
      a.set_author(keys[0].public_key().str());
      a.set_seq(static_cast<std::uint64_t>(i + 1));
      a.set_prev(prev.str());
      a.set_timestamp_ms(1'700'000'000'000 + i);
      a.mutable_admit()->set_member(keys[static_cast<std::size_t>(i)].public_key().str());
      a.mutable_admit()->mutable_info()->set_name("m");
      a.mutable_admit()->mutable_info()->set_organisation("o");
      events.push_back(polder::rulebook::Sign(keys[0], a, &prev));
    }
  }
};

class Wire : public polder::sync::Link {
 public:
  bool Send(Bytes m) override {
    if (closed) return false;
    bytes += m.size();
    return true;
  }
  std::size_t queued_bytes() const override { return 0; }
  void Close(std::string) override { closed = true; }
  bool closed = false;
  std::size_t bytes = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  auto replica = polder::storage::Replica::Open(":memory:");
  if (!replica) __builtin_trap();
  auto& r = **replica;
  if (!r.SetCircle(world.circle)) __builtin_trap();
  const std::int64_t now_ms = 1'800'000'000'000;
  if (!r.Ingest(world.events, polder::storage::IngestOptions(now_ms))) __builtin_trap();
  polder::sync::ReplicaStore store(r);
  auto clock = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  polder::sync::Syncer::Options o;
  o.now_ms = [] { return std::int64_t{1'800'000'000'000}; };
  o.clock = [&clock] { return clock; };
  o.identity = &world.keys[0];
  o.listen_addresses = {"127.0.0.1:7714"};
  polder::sync::Syncer syncer(store, o);
  bool flush_due = false;
  syncer.set_schedule_flush([&flush_due] { flush_due = true; });
  if (!syncer.Load()) __builtin_trap();
  std::shared_ptr<Wire> wires[2] = {std::make_shared<Wire>(), std::make_shared<Wire>()};
  const polder::sync::PeerId peers[2] = {syncer.AddPeer(world.keys[1].public_key(), wires[0]),
                                         syncer.AddPeer(world.keys[2].public_key(), wires[1])};
  std::size_t pos = 0;
  for (int records = 0; pos + 3 <= size && records < 256; ++records) {
    const std::uint8_t mode = data[pos];
    const std::size_t len = static_cast<std::size_t>(data[pos + 1]) << 8 | data[pos + 2];
    pos += 3;
    const std::size_t n = std::min(len, size - pos);
    ByteView chunk(data + pos, n);
    pos += n;
    if (mode & 16) {
      clock += std::chrono::seconds(3);
      syncer.Tick();
    }
    const int from = mode & 1;
    if (mode & 2) {
      polder::v1::EventBody body;
      if (!body.ParseFromArray(chunk.data(), static_cast<int>(chunk.size()))) continue;
      const auto& key = world.keys[(mode >> 2) % world.keys.size()];
      body.set_circle_id(world.circle.str());
      body.set_author(key.public_key().str());
      const Bytes ev = polder::rulebook::Sign(key, body);
      polder::v1::SyncMessage m;
      m.mutable_events()->set_push(true);
      m.mutable_events()->add_events(ev.data(), ev.size());
      const std::string s = m.SerializeAsString();
      syncer.OnMessage(peers[from], polder::AsBytes(s));
    } else {
      syncer.OnMessage(peers[from], chunk);
    }
    if (syncer.inbox_bytes() > polder::sync::kMaxInboxBytes + polder::sync::kInitialCreditBytes +
                                   2 * polder::rulebook::kMaxEventBytes) {
      __builtin_trap();  // the inbox passed its bound
    }
    if ((mode & 32) && flush_due) {
      flush_due = false;
      syncer.Flush();
    }
  }
  syncer.Flush();
  auto v = store.Vector(nullptr);
  if (!v) __builtin_trap();
  if (!(v->Digest() == syncer.vector().Digest())) __builtin_trap();
  return 0;
}
