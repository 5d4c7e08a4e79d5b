#include "storage/rulebook/decode.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include "crypto/hash.h"
#include "crypto/identity.h"
#include "storage/rulebook/checks.h"
#include "storage/rulebook/limits.h"
#include "storage/rulebook/sign.h"

namespace polder::rulebook {
namespace {

Unexpected<Refusal> Refuse(RefusalCode code, std::string message) {
  return {Refusal{code, std::move(message)}};
}

}  // namespace

Result<DecodedEvent, Refusal> Decode(ByteView signed_event, std::int64_t now_ms) {
  if (signed_event.size() > kMaxEventBytes) {
    return Refuse(RefusalCode::kTooLarge, "event is " + std::to_string(signed_event.size()) +
                                              " bytes; at most " + std::to_string(kMaxEventBytes));
  }
  v1::SignedEvent envelope;
  if (!envelope.ParseFromArray(signed_event.data(), static_cast<int>(signed_event.size()))) {
    return Refuse(RefusalCode::kMalformed, "not a signed event");
  }
  if (envelope.signature().size() != 64) {
    return Refuse(RefusalCode::kMalformed, "signature must be 64 bytes");
  }
  DecodedEvent ev;
  ev.body_bytes = std::move(*envelope.mutable_body());
  ev.signature = std::move(*envelope.mutable_signature());
  if (!ev.body.ParseFromString(ev.body_bytes)) {
    return Refuse(RefusalCode::kMalformed, "event body does not parse");
  }
  const auto& b = ev.body;
  if (auto r = CheckBody(b)) return Unexpected<Refusal>{std::move(*r)};
  if (b.has_charter() && !CharterNamesItsCircle(ev.body_bytes, b.circle_id())) {
    return Refuse(RefusalCode::kBadCharter, "the circle id is not the hash of this charter");
  }
  ev.author = *MemberKey::FromBytes(AsBytes(b.author()));  // 32 bytes: CheckBody
  if (b.timestamp_ms() > now_ms + kMaxFutureSkewMs) {
    return Refuse(RefusalCode::kFutureTimestamp,
                  "timestamp is " + std::to_string((b.timestamp_ms() - now_ms) / 1000) +
                      " s ahead of this clock (at most 300 s allowed)");
  }
  if (!crypto::Verify(ev.author, crypto::kContextEvent, AsBytes(ev.body_bytes),
                      AsBytes(ev.signature))) {
    return Refuse(RefusalCode::kBadSignature, "signature does not verify");
  }
  ev.id.bytes = crypto::Blake2b256(AsBytes(ev.body_bytes)).bytes;
  return ev;
}

std::optional<Peeked> Peek(ByteView signed_event) {
  if (signed_event.size() > kMaxEventBytes) return std::nullopt;
  v1::SignedEvent envelope;
  v1::EventBody body;
  if (!envelope.ParseFromArray(signed_event.data(), static_cast<int>(signed_event.size())) ||
      !body.ParseFromString(envelope.body())) {
    return std::nullopt;
  }
  auto author = MemberKey::FromBytes(AsBytes(body.author()));
  if (!author) return std::nullopt;
  Peeked out;
  out.id.bytes = crypto::Blake2b256(AsBytes(envelope.body())).bytes;
  out.author = *author;
  out.seq = body.seq();
  return out;
}

std::vector<Result<DecodedEvent, Refusal>> DecodeBatch(std::span<const Bytes> events,
                                                       std::int64_t now_ms, unsigned threads) {
  std::vector<std::optional<Result<DecodedEvent, Refusal>>> slots(events.size());
  const std::size_t n = events.size();
  const unsigned t = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(n / 32 + 1)));
  // Threads take the next few events as they go rather than a fixed share: a thread the
  // scheduler holds back (the core is shared with the commit, or with the other node's work) then
  // leaves no core idle at the end waiting for its share.
  constexpr std::size_t kChunk = 16;
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t from; (from = next.fetch_add(kChunk, std::memory_order_relaxed)) < n;) {
      const std::size_t to = std::min(n, from + kChunk);
      for (std::size_t i = from; i < to; ++i) slots[i].emplace(Decode(events[i], now_ms));
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned k = 1; k < t; ++k) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
  std::vector<Result<DecodedEvent, Refusal>> out;
  out.reserve(n);
  for (auto& s : slots) out.push_back(std::move(*s));
  return out;
}

}  // namespace polder::rulebook
