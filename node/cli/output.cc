#include "node/cli/output.h"

#include <ctime>

#include <google/protobuf/util/json_util.h>

namespace polder::cli {

int ExitCodeFor(const Error& e) {
  switch (e.code) {
    case Errc::kInvalidArgument:
    case Errc::kRefused:
    case Errc::kCorruption:
    case Errc::kLimit: return kExitRefused;
    case Errc::kAlreadyExists: return kExitExists;
    case Errc::kUnavailable: return kExitBusy;
    case Errc::kPermission: return kExitPermission;
    case Errc::kNotFound:
    case Errc::kIo:
    case Errc::kInternal: return kExitFailed;
  }
  return kExitFailed;
}

Result<EventId> GivenId(Result<EventId> resolved) {
  if (!resolved && resolved.error().code == Errc::kNotFound) {
    return Fail(Errc::kInvalidArgument, resolved.error().message);
  }
  return resolved;
}

std::string ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opt;
  opt.preserve_proto_field_names = true;
  opt.always_print_primitive_fields = true;
  opt.add_whitespace = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opt);
  return out;
}

namespace {
// Display width of UTF-8 text (counts code points; good enough for names and titles).
std::size_t Width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}
}  // namespace

std::string Table::Render() const {
  std::vector<std::size_t> width(headers_.size(), 0);
  for (std::size_t i = 0; i < headers_.size(); ++i) width[i] = Width(headers_[i]);
  for (const auto& r : rows_) {
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], Width(r[i]));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      l += cells[i];
      if (i + 1 < cells.size()) l += std::string(width[i] - Width(cells[i]) + 2, ' ');
    }
    out += l + "\n";
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
  return out;
}

std::string FormatTime(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace polder::cli
