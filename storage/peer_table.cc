#include "storage/peer_table.h"

#include "storage/db.h"

namespace polder::storage {

Status PeerTable::Put(const StoredPeer& peer) {
  return Guard([&]() -> Status {
    ResetOnExit reset{db_};
    auto& st = db_.Q(
        "INSERT INTO peers(member, announced_ms, addresses, announcement) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(member) DO UPDATE SET announced_ms = excluded.announced_ms,"
        " addresses = excluded.addresses, announcement = excluded.announcement"
        " WHERE excluded.announced_ms > peers.announced_ms");
    Bind(st, 1, peer.member.view());
    st.bind(2, peer.announced_ms);
    BindText(st, 3, peer.addresses);
    Bind(st, 4, ByteView(peer.announcement));
    st.exec();
    return {};
  });
}

Result<std::vector<StoredPeer>> PeerTable::All() {
  return Guard([&]() -> Result<std::vector<StoredPeer>> {
    std::vector<StoredPeer> out;
    SQLite::Statement st(db_.raw(),
                         "SELECT member, announced_ms, addresses, announcement FROM peers"
                         " ORDER BY member");
    while (st.executeStep()) {
      StoredPeer p;
      p.member = ToId<MemberKey>(st.getColumn(0));
      p.announced_ms = st.getColumn(1).getInt64();
      p.addresses = st.getColumn(2).getString();
      const std::string a = Blob(st.getColumn(3));
      p.announcement.assign(a.begin(), a.end());
      out.push_back(std::move(p));
    }
    return out;
  });
}

}  // namespace polder::storage
