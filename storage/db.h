// Db: the replica's SQLite connection, with the statement cache and the helpers every file of
// storage/ uses to bind and read values. Internal to storage/ (SQLite is private to this module;
// scripts/check_layering.sh keeps other modules from including this header).
//
// Thread-safety: not thread-safe; one Db per thread.
#pragma once

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include "proto/bytes.h"

namespace polder::storage {

class Db {
 public:
  // Opens or creates `file` (":memory:" for an in-memory database). Throws SQLite::Exception.
  explicit Db(const std::filesystem::path& file);

  SQLite::Database& raw() { return db_; }

  // A prepared statement for `sql`, cached by the address of the literal (no string is built on
  // the hot path), reset and with its bindings cleared.
  SQLite::Statement& Q(const char* sql);
  // Resets every cached statement. Cached statements keep a read snapshot open until reset, so
  // every public operation of the replica ends with this: the connection never pins an old
  // snapshot (its next write would fail with SQLITE_BUSY_SNAPSHOT and the WAL could not be
  // checkpointed).
  void ResetAll();

  // A write transaction (BEGIN IMMEDIATE); Rollback does nothing outside one.
  void Begin();
  void Commit();
  void Rollback();
  bool in_transaction() const { return in_tx_; }

 private:
  SQLite::Database db_;
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> cache_;
  bool in_tx_ = false;
};

// Resets the cached statements when a public operation ends, however it ends.
struct ResetOnExit {
  Db& db;
  ~ResetOnExit() { db.ResetAll(); }
};

// Bindings do not copy: every caller executes the statement while the bound value is alive, and
// Q() clears bindings before a statement is used again. (Copying cost a malloc per column.)
inline void Bind(SQLite::Statement& st, int i, const std::string& blob) {
  st.bindNoCopy(i, blob.data(), static_cast<int>(blob.size()));
}
inline void Bind(SQLite::Statement& st, int i, ByteView blob) {
  st.bindNoCopy(i, blob.data(), static_cast<int>(blob.size()));
}
inline void BindText(SQLite::Statement& st, int i, const std::string& text) {
  st.bindNoCopy(i, text);
}
// Temporaries would dangle before the statement runs.
void Bind(SQLite::Statement&, int, std::string&&) = delete;
void BindText(SQLite::Statement&, int, std::string&&) = delete;

inline std::string Blob(const SQLite::Column& c) {
  if (c.isNull()) return {};
  return std::string(static_cast<const char*>(c.getBlob()), static_cast<std::size_t>(c.getBytes()));
}

// The short key of an event id (events.idp): its first 8 bytes, big-endian, as a signed integer.
inline std::int64_t IdPrefix(ByteView id) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < id.size(); ++i) v = v << 8 | id[i];
  return static_cast<std::int64_t>(v);
}

// A 32-byte column as a typed id (zero when it is not 32 bytes).
template <class IdT>
IdT ToId(const SQLite::Column& c) {
  auto id = IdT::FromBytes(ByteView(static_cast<const std::uint8_t*>(c.getBlob()),
                                    static_cast<std::size_t>(c.getBytes())));
  return id ? *id : IdT{};
}
template <class IdT>
IdT ToId(const std::string& s) {
  auto id = IdT::FromBytes(AsBytes(s));
  return id ? *id : IdT{};
}

// Runs `fn`, turning SQLite exceptions into errors at the module boundary.
template <class F>
auto Guard(F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode();
    const Errc errc = code == SQLITE_BUSY || code == SQLITE_LOCKED      ? Errc::kUnavailable
                      : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? Errc::kCorruption
                                                                        : Errc::kIo;
    return Fail(errc, std::string("replica: ") + e.what());
  }
}

}  // namespace polder::storage
