// Tunables and bounds of the sync protocol (docs/protocol.md, section 12), in one place, each with
// the reason for its value. Bounds on what a peer sends cut the peer off when passed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace polder::sync {

// --- Catch-up (catch_up.cc) ---

// A catch-up batch holds at most this many events or bytes: one page read from the store, one
// message, and at the receiver part of one transaction. Large enough that the per-message and
// per-page costs vanish next to signature checks, small enough that credit flows back in steps.
inline constexpr std::size_t kBatchEvents = 2000;
inline constexpr std::size_t kBatchBytes = 256 * 1024;
// Credit each side grants the other for catch-up, renewed as batches are committed: about four
// groups (kGroupBytes) in flight, so the receiver always has one to verify and one to commit.
inline constexpr std::uint64_t kInitialCreditBytes = 4 << 20;
// A Hello grants at most this much credit, whatever it claims: a peer cannot make us queue
// unbounded catch-up for it.
inline constexpr std::uint64_t kMaxHelloCreditBytes = 64ull << 20;

// A source that claims events we lack (or has not sent its vector) and sends no catch-up for this
// long, while it holds credit, is stalled: the next peer that holds more becomes the source, and
// the stalled peer's claims no longer count as events to wait for (Expected(), which keeps a node
// from sealing) until it delivers one we lacked. Pages take milliseconds; the clock restarts
// whenever credit is granted again, so a receiver slow to commit never stalls its source.
inline constexpr std::chrono::milliseconds kSourceStall{10000};

// --- Inbound pipeline (pipeline.cc) ---

// A group verified and committed together holds whole received batches up to about this many
// bytes, so that with the default credit one group commits while the next is verified and a
// third arrives.
inline constexpr std::size_t kGroupBytes = 1 << 20;
// Fewer events than this received together are verified on the syncer's thread even when an
// offload is set: a push is not worth a trip to another thread.
inline constexpr std::size_t kOffloadMinEvents = 64;
// A batch received may hold at most this many events (a peer sending more is cut off): the
// size of one import transaction, far above an honest page (kBatchEvents).
inline constexpr std::size_t kMaxBatchEventsIn = 20000;

// Events a peer sent that its catch-up credit does not cover (pushes, and the one event a page
// may pass its credit by) wait in the inbox up to this many bytes per peer; a peer that passes
// it is cut off (inbox_full). An honest peer stops pushing to us at kPushQueueLimitBytes queued;
// what the sockets hold in between is far below this.
inline constexpr std::size_t kMaxInboxBytesPerPeer = 16 << 20;
// ... and up to this many bytes from all peers together: past it, pushes are dropped and counted
// (pushes_refused), and anti-entropy brings their events again once the inbox has drained.
inline constexpr std::size_t kMaxInboxBytes = 64 << 20;
// Events received that this replica already holds cost their sender from an allowance of this
// many bytes, refilled at kDuplicateRefillBytesPerSecond; a peer that exhausts it is cut off
// (duplicates). Honest duplicates are the pushes that cross before a Prune, a few per author.
// A pushed event already held is recognised by its id before its signature is checked.
inline constexpr std::int64_t kDuplicateAllowanceBytes = 16 << 20;
inline constexpr std::int64_t kDuplicateRefillBytesPerSecond = 1 << 20;

// --- Push tree (push_tree.cc) ---

// Eager pushes to a peer are dropped (and counted) while its send queue holds more than this: a
// slow reader must not make us buffer without bound; anti-entropy repairs what was dropped. The
// same bound pauses a catch-up stream until the queue drains.
inline constexpr std::size_t kPushQueueLimitBytes = 2 << 20;
// How long a node waits for an event a peer said it holds (Have) before asking that peer for it
// (Want): long enough for the push tree to deliver it first, short enough to hide a lost push.
inline constexpr std::chrono::milliseconds kHaveWait{100};
// At most this many announced-but-missing authors are tracked (anti-entropy covers the rest).
inline constexpr std::size_t kMaxMissingAuthors = 10000;
// Have, Want, Prune and Graft carry at most this many entries (more cuts the sender off): one
// per author, and circles are far smaller.
inline constexpr std::size_t kMaxNotesPerMessage = 10000;
// A peer may name at most this many authors it wants only notes of (Prune): beyond it the names
// are ignored and the peer keeps receiving pushes, which costs bandwidth, not memory.
inline constexpr std::size_t kMaxLazyAuthorsPerPeer = 100000;
// A Want is answered with at most this many events per author read from the store (and one
// batch, kBatchBytes, in all): the rest comes by anti-entropy.
inline constexpr std::size_t kWantEventsPerAuthor = 1000;

// --- Announcements (announce.cc) ---

// At most this many announcements are accepted in one PeerList.
inline constexpr std::size_t kMaxAnnouncementsPerList = 1000;
// A greeting's PeerList holds the own announcement and at most this many others, picked at
// random from the peer table: news travels by forwarding, and each new session teaches a few more
// (the whole table at 64 members is about 15 KB per side of every new session).
inline constexpr std::size_t kGreetingAnnouncements = 16;
// An announcement lists at most this many addresses, each at most kMaxAddressBytes, in a body
// of at most kMaxAnnouncementBytes: an announcement is stored and forwarded by every node.
inline constexpr std::size_t kMaxAddressesPerAnnouncement = 8;
inline constexpr std::size_t kMaxAddressBytes = 255;
inline constexpr std::size_t kMaxAnnouncementBytes = 4096;
// A member's newer announcements are stored and passed on at most this often on average (one per
// kAnnouncementInterval, up to kAnnouncementBurst at once), per node: every node stores (fsync)
// and forwards each one, so signing announcements with rising timestamps must not flood the
// circle. One dropped comes again with the member's next greeting.
inline constexpr std::chrono::seconds kAnnouncementInterval{10};
inline constexpr double kAnnouncementBurst = 3;

// A catch-up page looks at most this many stored events (those the peer holds are skipped): a peer
// whose vector claims all but the table's last events makes the stream go through the table in
// steps of this many, one step per pump, not in one go on the node's thread.
inline constexpr std::size_t kCatchUpRowsPerRead = 16'384;

// --- Anti-entropy (syncer.cc) ---

// Anti-entropy exchanges vectors only when two Hello exchanges with a peer in a row find the
// digests different: the prober checks again this long after the first, by which time a
// difference that pushes in flight explain is gone.
inline constexpr std::chrono::milliseconds kRecheckWait{250};
// How long a difference found by one anti-entropy exchange counts for the next one.
inline constexpr std::chrono::milliseconds kMismatchMemory{1000};

}  // namespace polder::sync
