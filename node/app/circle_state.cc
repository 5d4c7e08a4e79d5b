#include "node/app/circle_state.h"

#include <vector>

namespace polder::app {

Result<decide::CircleState> LoadCircleState(storage::Replica& replica) {
  std::vector<decide::FoldEvent> events;
  Status s = replica.events().ForEachBody([&](const EventId& id, ByteView body) -> Status {
    decide::FoldEvent e;
    e.id = id;
    if (!e.body.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return Fail(Errc::kCorruption, "stored event " + id.hex().substr(0, 12) + " does not parse");
    }
    events.push_back(std::move(e));
    return {};
  });
  if (!s) return MakeUnexpected(s.error());
  return decide::Fold(events);
}

}  // namespace polder::app
