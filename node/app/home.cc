#include "node/app/home.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

namespace polder::app {
namespace {

std::string TomlString(const std::string& s) {
  std::ostringstream out;
  out << toml::value<std::string>(s);
  return out.str();
}

}  // namespace

Result<Home> Home::Resolve(const std::optional<std::filesystem::path>& flag) {
  if (flag && !flag->empty()) return Home(std::filesystem::absolute(*flag));
  if (const char* env = std::getenv("POLDER_HOME"); env && *env) {
    return Home(std::filesystem::absolute(env));
  }
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return Home(std::filesystem::path(xdg) / "polder");
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return Home(std::filesystem::path(home) / ".local" / "share" / "polder");
  }
  return Fail(Errc::kInvalidArgument, "cannot find a home folder: set POLDER_HOME or use --home");
}

Status Home::Create() const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Fail(Errc::kIo, "cannot create " + dir_.string() + ": " + ec.message());
  if (::chmod(dir_.c_str(), 0700) != 0) {
    return Fail(Errc::kIo,
                "cannot set permissions of " + dir_.string() + ": " + std::strerror(errno));
  }
  return {};
}

bool Home::HasIdentity() const {
  std::error_code ec;
  return std::filesystem::exists(key_file(), ec);
}

Result<HomeLock> HomeLock::Acquire(const Home& home, std::chrono::milliseconds wait) {
  int fd = ::open(home.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(Errc::kIo,
                "cannot open " + home.lock_file().string() + ": " + std::strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return Fail(Errc::kUnavailable,
                  "another polder process is using " + home.dir().string() + "; try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return HomeLock(fd);
}

HomeLock::~HomeLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Status WriteProfile(const Home& home, const v1::MemberInfo& me) {
  std::ostringstream text;
  text << "# Polder settings. Secrets never go here: the identity key is identity.key (0600).\n\n"
       << "[identity]\n"
       << "name = " << TomlString(me.name()) << "\n"
       << "organisation = " << TomlString(me.organisation()) << "\n"
       << "role = " << TomlString(me.role()) << "\n"
       << "formal_leader = " << (me.formal_leader() ? "true" : "false") << "\n";
  const auto tmp = home.profile_file().string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text.str();
    if (!out.flush()) return Fail(Errc::kIo, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, home.profile_file(), ec);
  if (ec)
    return Fail(Errc::kIo, "cannot write " + home.profile_file().string() + ": " + ec.message());
  return {};
}

namespace {

std::vector<std::string> Strings(const toml::node_view<toml::node>& n) {
  std::vector<std::string> out;
  if (auto* arr = n.as_array()) {
    for (const auto& e : *arr) {
      if (auto s = e.value<std::string>()) out.push_back(*s);
    }
  }
  return out;
}

}  // namespace

Result<NodeSettings> ReadNodeSettings(const Home& home) {
  NodeSettings s;
  std::error_code ec;
  if (!std::filesystem::exists(home.profile_file(), ec)) return s;
  try {
    auto tbl = toml::parse_file(home.profile_file().string());
    s.listen = tbl["node"]["listen"].value_or(s.listen);
    s.advertise = Strings(tbl["node"]["advertise"]);
    s.bootstrap = Strings(tbl["node"]["bootstrap"]);
    s.bootstrap_members = Strings(tbl["node"]["bootstrap_members"]);
    s.device_of = tbl["node"]["device_of"].value_or(std::string());
    return s;
  } catch (const toml::parse_error& e) {
    return Fail(Errc::kInvalidArgument,
                home.profile_file().string() + ": " + std::string(e.description()));
  }
}

Result<api::ApiSettings> ReadApiSettings(const Home& home) {
  api::ApiSettings s;
  std::error_code ec;
  if (!std::filesystem::exists(home.profile_file(), ec)) return s;
  try {
    auto tbl = toml::parse_file(home.profile_file().string());
    s.metrics_public = tbl["api"]["metrics_public"].value_or(s.metrics_public);
    const std::int64_t wait_ms = tbl["api"]["node_wait_ms"].value_or(s.node_wait.count());
    if (wait_ms <= 0) {
      return Fail(Errc::kInvalidArgument,
                  home.profile_file().string() + ": [api] node_wait_ms must be positive");
    }
    s.node_wait = std::chrono::milliseconds(wait_ms);
    return s;
  } catch (const toml::parse_error& e) {
    return Fail(Errc::kInvalidArgument,
                home.profile_file().string() + ": " + std::string(e.description()));
  }
}

Status WriteNodeSettings(const Home& home, const NodeSettings& s) {
  toml::table tbl;
  std::error_code ec;
  if (std::filesystem::exists(home.profile_file(), ec)) {
    try {
      tbl = toml::parse_file(home.profile_file().string());
    } catch (const toml::parse_error& e) {
      return Fail(Errc::kInvalidArgument,
                  home.profile_file().string() + ": " + std::string(e.description()));
    }
  }
  toml::table node;
  node.insert("listen", s.listen);
  toml::array adv, boot, boot_members;
  for (const auto& a : s.advertise) adv.push_back(a);
  for (const auto& a : s.bootstrap) boot.push_back(a);
  for (const auto& m : s.bootstrap_members) boot_members.push_back(m);
  node.insert("advertise", adv);
  node.insert("bootstrap", boot);
  node.insert("bootstrap_members", boot_members);
  if (!s.device_of.empty()) node.insert("device_of", s.device_of);
  tbl.insert_or_assign("node", std::move(node));
  const auto tmp = home.profile_file().string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "# Polder settings. Secrets never go here: the identity key is identity.key and the\n"
           "# network key network.key (both 0600).\n\n"
        << tbl << "\n";
    if (!out.flush()) return Fail(Errc::kIo, "cannot write " + tmp);
  }
  std::filesystem::rename(tmp, home.profile_file(), ec);
  if (ec) {
    return Fail(Errc::kIo, "cannot write " + home.profile_file().string() + ": " + ec.message());
  }
  return {};
}

Result<v1::MemberInfo> ReadProfile(const Home& home) {
  try {
    auto tbl = toml::parse_file(home.profile_file().string());
    v1::MemberInfo me;
    me.set_name(tbl["identity"]["name"].value_or(std::string()));
    me.set_organisation(tbl["identity"]["organisation"].value_or(std::string()));
    me.set_role(tbl["identity"]["role"].value_or(std::string()));
    me.set_formal_leader(tbl["identity"]["formal_leader"].value_or(false));
    return me;
  } catch (const toml::parse_error& e) {
    return Fail(Errc::kInvalidArgument,
                home.profile_file().string() + ": " + std::string(e.description()));
  }
}

}  // namespace polder::app
