#include "node/decide/pabulib.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "node/decide/limits.h"

namespace polder::decide {
namespace {

// Error helpers: every message names the line it is about.
Unexpected<Error> Bad(std::size_t line, const std::string& what) {
  return Fail(Errc::kInvalidArgument, "line " + std::to_string(line) + ": " + what);
}
Unexpected<Error> TooBig(std::size_t line, const std::string& what) {
  return Fail(Errc::kLimit, "line " + std::to_string(line) + ": " + what);
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string FieldTooLong() {
  return "a field is over " + std::to_string(kMaxPbFieldBytes >> 20) + " MiB";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Quotes a value for an error message, shortened.
std::string Shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  if (s.size() > kMax) return "'" + std::string(s.substr(0, kMax)) + "...'";
  return "'" + std::string(s) + "'";
}

// Splits `;`-separated records with CSV quoting; a quoted field may span lines. Unquoted fields
// are trimmed of spaces and tabs. CR before LF is dropped.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {}

  // Reads the next record into `fields` and its first line number into `line`. Returns false at
  // the end of the text.
  Result<bool> Next(std::vector<std::string>& fields, std::size_t& line) {
    fields.clear();
    if (pos_ >= text_.size()) return false;
    line = line_;
    std::string field;
    for (;;) {
      field.clear();
      // Leading blanks, then maybe a quote.
      std::size_t p = pos_;
      while (p < text_.size() && IsSpace(text_[p])) ++p;
      if (p < text_.size() && text_[p] == '"') {
        pos_ = p + 1;
        for (;;) {
          if (pos_ >= text_.size()) return Bad(line, "a quoted field is not closed");
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              field.push_back('"');
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          field.push_back(c);
          if (field.size() > kMaxPbFieldBytes) return TooBig(line, FieldTooLong());
        }
        while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
        if (pos_ < text_.size() && text_[pos_] != ';' && text_[pos_] != '\n' &&
            text_[pos_] != '\r') {
          return Bad(line_, "unexpected text after a closing quote");
        }
      } else {
        const std::size_t end = text_.find_first_of(";\n", pos_);
        std::string_view raw = text_.substr(pos_, end == std::string_view::npos ? end : end - pos_);
        pos_ = end == std::string_view::npos ? text_.size() : end;
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        if (raw.size() > kMaxPbFieldBytes) return TooBig(line, FieldTooLong());
        field = Trim(raw);
      }
      fields.push_back(std::move(field));
      if (fields.size() > kMaxPbColumns) {
        return TooBig(line, "more than " + std::to_string(kMaxPbColumns) + " fields");
      }
      if (pos_ >= text_.size()) return true;
      char c = text_[pos_++];
      if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') c = text_[pos_++];
      if (c == '\n') {
        ++line_;
        return true;
      }
      if (c == '\r') return true;  // a lone CR after a closing quote
      // c == ';': another field follows.
    }
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// A non-negative decimal number: digits, optionally '.' and more digits.
struct Decimal {
  std::uint64_t whole = 0;
  std::string frac;  // fraction digits without trailing zeros
};

Result<Decimal> ParseDecimal(std::string_view s, std::size_t line, const std::string& what) {
  auto bad = [&] {
    return Bad(line, what + " " + Shown(s) +
                         " is not a non-negative decimal number (digits, optionally '.' and "
                         "digits)");
  };
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() || !AllDigits(whole) || !AllDigits(frac)) return bad();
  if (dot != std::string_view::npos && frac.empty()) return bad();
  Decimal d;
  for (char c : whole) {
    d.whole = d.whole * 10 + static_cast<std::uint64_t>(c - '0');
    if (d.whole > static_cast<std::uint64_t>(kMaxAmountMinor)) {
      return TooBig(line, what + " " + Shown(s) + " is too large");
    }
  }
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > kMaxDecimals) {
    return Bad(line, what + " " + Shown(s) + " has more than " + std::to_string(kMaxDecimals) +
                         " decimals");
  }
  d.frac = frac;
  return d;
}

// The decimal in minor units of 10^-decimals (decimals ≥ d.frac.size()).
Result<Money> ToMinor(const Decimal& d, std::uint32_t decimals, std::size_t line,
                      const std::string& what) {
  std::uint64_t scale = 1;
  for (std::uint32_t i = 0; i < decimals; ++i) scale *= 10;
  if (d.whole > static_cast<std::uint64_t>(kMaxAmountMinor) / scale) {
    return TooBig(line, what + " is over " + std::to_string(kMaxAmountMinor) + " minor units");
  }
  std::uint64_t frac = 0;
  for (std::uint32_t i = 0; i < decimals; ++i) {
    frac = frac * 10 + (i < d.frac.size() ? static_cast<std::uint64_t>(d.frac[i] - '0') : 0);
  }
  const std::uint64_t v = d.whole * scale + frac;
  if (v > static_cast<std::uint64_t>(kMaxAmountMinor)) {
    return TooBig(line, what + " is over " + std::to_string(kMaxAmountMinor) + " minor units");
  }
  return Money(static_cast<std::int64_t>(v));
}

// Points given to a project: an optionally signed decimal. True when positive.
Result<bool> PositivePoints(std::string_view s, std::size_t line) {
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  const std::size_t dot = body.find('.');
  const std::string_view whole = body.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : body.substr(dot + 1);
  if (whole.empty() || !AllDigits(whole) || !AllDigits(frac) ||
      (dot != std::string_view::npos && frac.empty())) {
    return Bad(line, "points " + Shown(s) + " is not a number");
  }
  const bool zero = whole.find_first_not_of('0') == std::string_view::npos &&
                    frac.find_first_not_of('0') == std::string_view::npos;
  return !negative && !zero;
}

// Splits a comma-separated list into trimmed items; "" gives no items.
std::vector<std::string_view> SplitList(std::string_view s) {
  std::vector<std::string_view> out;
  if (Trim(s).empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    out.push_back(Trim(s.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

enum class Section { kNone, kMeta, kProjects, kVotes };

const char* Name(Section s) {
  switch (s) {
    case Section::kMeta: return "META";
    case Section::kProjects: return "PROJECTS";
    case Section::kVotes: return "VOTES";
    case Section::kNone: break;
  }
  return "(none)";
}

// Column positions from a header line.
class Columns {
 public:
  static Result<Columns> From(const std::vector<std::string>& header, std::size_t line,
                              Section section) {
    Columns c;
    c.count_ = header.size();
    for (std::size_t i = 0; i < header.size(); ++i) {
      const std::string name = Lower(header[i]);
      if (name.empty())
        return Bad(line, std::string(Name(section)) + " header has an empty column name");
      if (!c.index_.emplace(name, i).second) {
        return Bad(line, std::string(Name(section)) + " header names column '" + name + "' twice");
      }
    }
    return c;
  }
  std::optional<std::size_t> Find(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  std::size_t count() const { return count_; }

 private:
  std::unordered_map<std::string, std::size_t> index_;
  std::size_t count_ = 0;
};

struct PendingProject {
  Decimal cost;
  std::size_t line = 0;
};

class Parser {
 public:
  Result<PabulibFile> Parse(std::string_view text);

 private:
  Status Header(std::vector<std::string>& fields, std::size_t line);
  Status MetaRow(std::vector<std::string>& fields, std::size_t line);
  Status ProjectRow(std::vector<std::string>& fields, std::size_t line);
  Status VoteRow(std::vector<std::string>& fields, std::size_t line);
  Status FinishProjects();  // scales costs and budget; checks the vote type
  std::size_t MetaLine(const std::string& key) const;

  PabulibFile out_;
  Section section_ = Section::kNone;
  bool want_header_ = false;
  std::optional<Columns> cols_;
  // PROJECTS columns.
  std::size_t id_col_ = 0, cost_col_ = 0;
  std::optional<std::size_t> selected_col_;
  std::vector<PendingProject> pending_;
  std::unordered_map<std::string, std::uint32_t> project_index_;
  // VOTES columns.
  std::size_t voter_col_ = 0, vote_col_ = 0;
  std::optional<std::size_t> points_col_;
  std::unordered_set<std::string> voter_ids_;
  std::vector<std::size_t> seen_;                  // per project: last vote row (+1) that listed it
  std::map<std::string, std::size_t> meta_lines_;  // META key → its line
  std::size_t projects_line_ = 0;                  // the PROJECTS section line
};

std::size_t Parser::MetaLine(const std::string& key) const {
  auto it = meta_lines_.find(key);
  return it == meta_lines_.end() ? projects_line_ : it->second;
}

Status Parser::Header(std::vector<std::string>& fields, std::size_t line) {
  want_header_ = false;
  if (section_ == Section::kMeta) {
    if (fields.size() == 2 && Lower(fields[0]) == "key" && Lower(fields[1]) == "value") return {};
    return MetaRow(fields, line);  // no header: this is already a key;value row
  }
  auto cols = Columns::From(fields, line, section_);
  if (!cols) return MakeUnexpected(cols.error());
  cols_ = std::move(*cols);
  auto need = [&](const char* name, std::size_t& at) -> Status {
    auto i = cols_->Find(name);
    if (!i) {
      return Bad(line, std::string(Name(section_)) + " header has no '" + name + "' column");
    }
    at = *i;
    return {};
  };
  if (section_ == Section::kProjects) {
    if (auto s = need("project_id", id_col_); !s) return s;
    if (auto s = need("cost", cost_col_); !s) return s;
    selected_col_ = cols_->Find("selected");
    return {};
  }
  if (auto s = need("voter_id", voter_col_); !s) return s;
  if (auto s = need("vote", vote_col_); !s) return s;
  points_col_ = cols_->Find("points");
  const std::string& type = out_.vote_type;
  if ((type == "cumulative" || type == "scoring") && !points_col_) {
    return Bad(line, "vote_type " + type + " needs a 'points' column in VOTES");
  }
  return {};
}

Status Parser::MetaRow(std::vector<std::string>& fields, std::size_t line) {
  if (fields.size() < 2) return Bad(line, "META rows are key;value, found " + Shown(fields[0]));
  // An unquoted ';' inside a value (a description, say) splits it: join it back.
  std::string value = fields[1];
  for (std::size_t i = 2; i < fields.size(); ++i) value += ";" + fields[i];
  const std::string key = Lower(fields[0]);
  if (key.empty()) return Bad(line, "META key is empty");
  if (!out_.meta.emplace(key, std::move(value)).second) {
    return Bad(line, "META key '" + key + "' appears twice");
  }
  meta_lines_[key] = line;
  return {};
}

Status Parser::ProjectRow(std::vector<std::string>& fields, std::size_t line) {
  if (fields.size() != cols_->count()) {
    return Bad(line, "PROJECTS row has " + std::to_string(fields.size()) + " fields, the header " +
                         std::to_string(cols_->count()));
  }
  if (out_.instance.projects.size() >= kMaxProjects) {
    return TooBig(line, "more than " + std::to_string(kMaxProjects) + " projects");
  }
  std::string& id = fields[id_col_];
  if (id.empty()) return Bad(line, "project_id is empty");
  if (id.find(',') != std::string::npos) {
    return Bad(line, "project_id " + Shown(id) + " contains a comma (votes list ids with commas)");
  }
  auto cost = ParseDecimal(fields[cost_col_], line, "cost");
  if (!cost) return MakeUnexpected(cost.error());
  const auto index = static_cast<std::uint32_t>(out_.instance.projects.size());
  if (!project_index_.emplace(id, index).second) {
    return Bad(line, "project_id " + Shown(id) + " appears twice");
  }
  if (selected_col_) {
    const std::string& s = fields[*selected_col_];
    if (s.empty() || !AllDigits(s)) {
      return Bad(line, "selected " + Shown(s) + " is not 0 or 1");
    }
    out_.selected.push_back(s.find_first_not_of('0') != std::string::npos);
  }
  out_.instance.projects.push_back(Project{std::move(id), Money(0)});
  pending_.push_back({std::move(*cost), line});
  return {};
}

Status Parser::FinishProjects() {
  const std::string type = out_.Meta("vote_type").empty() ? "approval" : out_.Meta("vote_type");
  if (type != "approval" && type != "cumulative" && type != "scoring" && type != "ordinal") {
    return Bad(MetaLine("vote_type"),
               "vote_type " + Shown(type) + " is not approval, cumulative, scoring or ordinal");
  }
  out_.vote_type = type;
  auto it = out_.meta.find("budget");
  if (it == out_.meta.end()) return Bad(projects_line_, "META has no budget");
  auto budget = ParseDecimal(it->second, MetaLine("budget"), "budget");
  if (!budget) return MakeUnexpected(budget.error());
  std::size_t decimals = budget->frac.size();
  for (const auto& p : pending_) decimals = std::max(decimals, p.cost.frac.size());
  out_.decimals = static_cast<std::uint32_t>(decimals);
  auto& in = out_.instance;
  std::int64_t unit = 1;
  for (std::size_t i = 0; i < decimals; ++i) unit *= 10;
  in.unit = Money(unit);
  auto b = ToMinor(*budget, out_.decimals, MetaLine("budget"), "budget");
  if (!b) return MakeUnexpected(b.error());
  in.budget = *b;
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    auto c = ToMinor(pending_[i].cost, out_.decimals, pending_[i].line, "cost");
    if (!c) return MakeUnexpected(c.error());
    in.projects[i].cost = *c;
  }
  pending_.clear();
  seen_.assign(in.projects.size(), 0);
  return {};
}

Status Parser::VoteRow(std::vector<std::string>& fields, std::size_t line) {
  if (fields.size() != cols_->count()) {
    return Bad(line, "VOTES row has " + std::to_string(fields.size()) + " fields, the header " +
                         std::to_string(cols_->count()));
  }
  auto& ballots = out_.instance.approvals;
  if (ballots.size() >= kMaxVoters) {
    return TooBig(line, "more than " + std::to_string(kMaxVoters) + " voters");
  }
  std::string& voter = fields[voter_col_];
  if (voter.empty()) return Bad(line, "voter_id is empty");
  if (!voter_ids_.insert(voter).second) {
    return Bad(line, "voter_id " + Shown(voter) + " appears twice");
  }
  const auto ids = SplitList(fields[vote_col_]);
  std::vector<std::string_view> points;
  if (points_col_) {
    points = SplitList(fields[*points_col_]);
    if (points.size() != ids.size()) {
      return Bad(line, "the vote lists " + std::to_string(ids.size()) +
                           " projects but points has " + std::to_string(points.size()) + " values");
    }
  }
  const std::size_t row = ballots.size() + 1;
  std::vector<std::uint32_t> ballot;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) return Bad(line, "the vote has an empty project id");
    auto it = project_index_.find(std::string(ids[i]));
    if (it == project_index_.end()) {
      return Bad(line, "the vote lists project " + Shown(ids[i]) + ", which is not in PROJECTS");
    }
    if (seen_[it->second] == row) {
      return Bad(line, "the vote lists project " + Shown(ids[i]) + " twice");
    }
    seen_[it->second] = row;
    if (points_col_) {
      auto positive = PositivePoints(points[i], line);
      if (!positive) return MakeUnexpected(positive.error());
      if (!*positive) continue;
    }
    ballot.push_back(it->second);
  }
  ballots.push_back(std::move(ballot));
  return {};
}

Result<PabulibFile> Parser::Parse(std::string_view text) {
  if (text.size() > kMaxPbFileBytes) {
    return Fail(Errc::kLimit, "the file is over " + std::to_string(kMaxPbFileBytes >> 20) + " MiB");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  CsvReader reader(text);
  std::vector<std::string> fields;
  std::size_t line = 0, last_line = 1;
  for (;;) {
    auto more = reader.Next(fields, line);
    if (!more) return MakeUnexpected(more.error());
    if (!*more) break;
    last_line = line;
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (std::all_of(fields.begin() + 1, fields.end(), [](auto& f) { return f.empty(); })) {
      const std::string word = Lower(fields[0]);
      Section next = Section::kNone;
      if (word == "meta") next = Section::kMeta;
      if (word == "projects") next = Section::kProjects;
      if (word == "votes") next = Section::kVotes;
      if (next != Section::kNone) {
        if (static_cast<int>(next) != static_cast<int>(section_) + 1) {
          return Bad(line, std::string("section ") + Name(next) +
                               " is out of place: sections are META, PROJECTS, VOTES, once each");
        }
        if (want_header_ && section_ == Section::kProjects) {
          return Bad(line, "the PROJECTS section has no header line");
        }
        if (next == Section::kProjects) projects_line_ = line;
        if (next == Section::kVotes) {
          if (auto s = FinishProjects(); !s) return MakeUnexpected(s.error());
        }
        section_ = next;
        want_header_ = true;
        continue;
      }
    }
    Status s;
    if (section_ == Section::kNone) {
      return Bad(line, "expected the META section, found " + Shown(fields[0]));
    } else if (want_header_) {
      s = Header(fields, line);
    } else if (section_ == Section::kMeta) {
      s = MetaRow(fields, line);
    } else if (section_ == Section::kProjects) {
      s = ProjectRow(fields, line);
    } else {
      s = VoteRow(fields, line);
    }
    if (!s) return MakeUnexpected(s.error());
  }
  if (section_ != Section::kVotes) {
    const Section missing = static_cast<Section>(static_cast<int>(section_) + 1);
    return Bad(last_line, std::string("the file ends without a ") + Name(missing) + " section");
  }
  if (want_header_) return Bad(last_line, "the VOTES section has no header line");
  auto check_count = [&](const char* key, std::size_t actual, const char* what) -> Status {
    const std::string v = out_.Meta(key);
    if (v.empty()) return {};
    if (v != std::to_string(actual)) {
      return Bad(MetaLine(key), std::string("META ") + key + " is " + Shown(v) +
                                    " but the file has " + std::to_string(actual) + " " + what);
    }
    return {};
  };
  if (auto s = check_count("num_projects", out_.instance.projects.size(), "projects"); !s) {
    return MakeUnexpected(s.error());
  }
  if (auto s = check_count("num_votes", out_.instance.approvals.size(), "votes"); !s) {
    return MakeUnexpected(s.error());
  }
  if (auto s = Validate(out_.instance); !s) return MakeUnexpected(s.error());
  return std::move(out_);
}

}  // namespace

std::string PabulibFile::Meta(const std::string& key) const {
  auto it = meta.find(key);
  return it == meta.end() ? std::string() : it->second;
}

Result<PabulibFile> ParsePabulib(std::string_view text) { return Parser().Parse(text); }

Result<PabulibFile> ReadPabulib(std::istream& in) {
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxPbFileBytes) {
      return Fail(Errc::kLimit,
                  "the file is over " + std::to_string(kMaxPbFileBytes >> 20) + " MiB");
    }
  }
  if (in.bad()) return Fail(Errc::kIo, "reading the file failed");
  return ParsePabulib(text);
}

}  // namespace polder::decide
