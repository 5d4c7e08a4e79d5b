#include "storage/rulebook/sign.h"

#include "crypto/hash.h"

namespace polder::rulebook {

CircleId CircleIdFor(const MemberKey& founder, ByteView salt) {
  Bytes input(founder.bytes.begin(), founder.bytes.end());
  input.insert(input.end(), salt.begin(), salt.end());
  CircleId id;
  id.bytes = crypto::DomainHash(crypto::kDomainCircleId, input).bytes;
  return id;
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
