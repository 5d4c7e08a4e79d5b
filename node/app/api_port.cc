#include "node/app/api_port.h"

#include "crypto/member_id.h"

namespace polder::app {

Result<v1::EventReceipt> NodeApiPort::Author(const v1::EventBody& payload) {
  auto a = node_.Author([&](v1::EventBody& b) {
    v1::EventBody p = payload;
    p.clear_author();
    p.clear_seq();
    p.clear_prev();
    p.clear_timestamp_ms();
    // The node's circle id wins; a replica of no circle yet keeps the payload's (a charter names
    // the circle it founds).
    if (!b.circle_id().empty()) p.clear_circle_id();
    b.MergeFrom(p);
  });
  if (!a) return Unexpected<Error>{a.error()};
  v1::EventReceipt r;
  r.set_event_id(a->id.hex());
  r.set_kind(a->kind);
  r.set_seq(a->seq);
  r.set_author(crypto::FormatMemberId(node_.session().key().public_key()));
  if (auto c = node_.session().replica().circle()) r.set_circle_id(c->hex());
  return r;
}

}  // namespace polder::app
