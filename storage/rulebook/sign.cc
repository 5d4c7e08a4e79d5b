#include "storage/rulebook/sign.h"

#include "crypto/hash.h"

namespace polder::rulebook {

namespace {

// The circle-id record a charter body begins with: field 1, length-delimited, 32 bytes.
constexpr std::uint8_t kCircleIdTag = 0x0a;
constexpr std::size_t kCircleIdRecord = 2 + 32;

CircleId CircleIdOf(std::string_view rest) {
  CircleId id;
  id.bytes = crypto::DomainHash(crypto::kDomainCircleId, AsBytes(rest)).bytes;
  return id;
}

}  // namespace

CircleId BindCharter(v1::EventBody& body) {
  body.clear_circle_id();
  // Serialized without field 1, the body is exactly what follows the circle-id record once the
  // field is set: protobuf writes fields in field-number order, and field 1 comes first.
  std::string rest;
  body.SerializeToString(&rest);
  const CircleId id = CircleIdOf(rest);
  body.set_circle_id(id.str());
  return id;
}

bool CharterNamesItsCircle(std::string_view body_bytes, std::string_view circle_id) {
  if (circle_id.size() != 32 || body_bytes.size() < kCircleIdRecord) return false;
  if (static_cast<std::uint8_t>(body_bytes[0]) != kCircleIdTag || body_bytes[1] != 32) return false;
  if (body_bytes.substr(2, 32) != circle_id) return false;
  return CircleIdOf(body_bytes.substr(kCircleIdRecord)).str() == circle_id;
}

Bytes Envelope(std::string_view body_bytes, std::string_view signature) {
  v1::SignedEvent envelope;
  envelope.set_body(std::string(body_bytes));
  envelope.set_signature(std::string(signature));
  Bytes out(envelope.ByteSizeLong());
  envelope.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Bytes Sign(const crypto::SigningKey& key, const v1::EventBody& body, EventId* id_out) {
  std::string body_bytes;
  body.SerializeToString(&body_bytes);
  const auto sig = key.Sign(crypto::kContextEvent, AsBytes(body_bytes));
  if (id_out) id_out->bytes = crypto::Blake2b256(AsBytes(body_bytes)).bytes;
  return Envelope(body_bytes,
                  std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
}

}  // namespace polder::rulebook
