#include "storage/db.h"

namespace polder::storage {

Db::Db(const std::filesystem::path& file)
    : db_(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX) {}

SQLite::Statement& Db::Q(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(sql, std::make_unique<SQLite::Statement>(db_, sql)).first;
  }
  auto& st = *it->second;
  st.reset();
  st.clearBindings();
  return st;
}

void Db::ResetAll() {
  for (auto& [sql, st] : cache_) st->reset();
}

void Db::Begin() {
  ResetAll();
  db_.exec("BEGIN IMMEDIATE");
  in_tx_ = true;
}

void Db::Commit() {
  ResetAll();
  db_.exec("COMMIT");
  in_tx_ = false;
}

void Db::Rollback() {
  if (!in_tx_) return;
  in_tx_ = false;
  ResetAll();
  try {
    db_.exec("ROLLBACK");
  } catch (const SQLite::Exception&) {
    // The transaction is gone already (SQLite rolls back on some errors by itself).
  }
}

}  // namespace polder::storage
