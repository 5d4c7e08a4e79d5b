#include "node/sync/messages.h"

namespace polder::sync {

const char* MessageName(const v1::SyncMessage& m) {
  switch (m.msg_case()) {
    case v1::SyncMessage::kHello: return "hello";
    case v1::SyncMessage::kVector: return "vector";
    case v1::SyncMessage::kEvents: return m.events().push() ? "push" : "batch";
    case v1::SyncMessage::kCredit: return "credit";
    case v1::SyncMessage::kPeers: return "peers";
    case v1::SyncMessage::kPrune: return "prune";
    case v1::SyncMessage::kGraft: return "graft";
    case v1::SyncMessage::kHave: return "have";
    case v1::SyncMessage::kWant: return "want";
    default: return "unknown";
  }
}

std::optional<MemberKey> KeyFrom(const std::string& bytes) {
  return MemberKey::FromBytes(AsBytes(bytes));
}

v1::SyncMessage VectorMessage(const storage::VersionVector& vector) {
  v1::SyncMessage m;
  auto* v = m.mutable_vector();
  for (const auto& [author, head] : vector.heads) {
    auto* h = v->add_heads();
    h->set_author(author.str());
    h->set_seq(head.seq);
    h->set_head(head.id.str());
    h->set_forked(head.forked);
  }
  return m;
}

v1::SyncMessage CreditMessage(std::uint64_t bytes) {
  v1::SyncMessage m;
  m.mutable_credit()->set_bytes(bytes);
  return m;
}

}  // namespace polder::sync
