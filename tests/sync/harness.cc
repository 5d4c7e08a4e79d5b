#include "tests/sync/harness.h"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "crypto/identity.h"
#include "crypto/key_file.h"
#include "crypto/member_id.h"
#include "storage/rulebook/sign.h"

namespace polder::testing {
namespace {

template <class T>
T Ok(Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}
void Ok(const Status& s, const char* what) {
  if (!s) throw std::runtime_error(std::string(what) + ": " + s.error().message);
}

}  // namespace

Network::Network(int n, int orgs, std::uint64_t seed, int strangers, std::uint32_t admission_orgs,
                 std::int64_t late_flag_window_ms)
    : rng_(seed), admitted_(n - strangers) {
  spdlog::set_level(spdlog::level::warn);
  root_ = std::filesystem::temp_directory_path() /
          ("polder-net-" + std::to_string(::getpid()) + "-" + std::to_string(rng_()));
  std::filesystem::create_directories(root_);
  crypto::RandomBytes(std::span(network_key_.data(), network_key_.size()));
  members_.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& m = members_[static_cast<std::size_t>(i)];
    m.dir = root_ / ("m" + std::to_string(i));
    m.org = "org" + std::to_string(i % orgs);
    auto home = Ok(app::Home::Resolve(m.dir), "home");
    Ok(home.Create(), "create home");
    Ok(crypto::WriteKeyFile(home.key_file(), crypto::SigningKey::Generate()), "key");
    v1::MemberInfo info;
    info.set_name("member" + std::to_string(i));
    info.set_organisation(m.org);
    Ok(app::WriteProfile(home, info), "profile");
    Ok(crypto::WriteSecretFile(home.network_key_file(), app::kNetworkKeyHeader,
                               Bytes(network_key_.begin(), network_key_.end())),
       "network key");
    m.session = std::make_unique<app::Session>(
        Ok(app::Session::Open(home, app::SessionOptions{true, true}), "open"));
  }
  // Member 0 founds the circle and admits everyone.
  auto& f = *members_[0].session;
  v1::Charter c;
  c.set_name("test circle");
  c.set_purpose("testing sync");
  c.set_pool_minor(1'000'000);
  c.set_unit("EUR");
  c.set_decimals(2);
  c.set_salt(std::string(16, 's'));
  c.mutable_founder()->set_name("member0");
  c.mutable_founder()->set_organisation(members_[0].org);
  for (int o = 0; o < orgs; ++o) c.mutable_rules()->add_organisations("org" + std::to_string(o));
  c.mutable_rules()->set_admission_organisations(admission_orgs);
  c.mutable_rules()->set_late_flag_window_ms(late_flag_window_ms);
  Ok(f.Author([&](v1::EventBody& b) { *b.mutable_charter() = c; }), "charter");
  circle_ = *f.replica().circle();
  for (int i = 1; i < n; ++i) {
    const auto key = members_[static_cast<std::size_t>(i)].session->key().public_key();
    if (i >= admitted_) {
      Ok(members_[static_cast<std::size_t>(i)].session->replica().SetCircle(circle_), "circle");
      continue;
    }
    Ok(f.Author([&](v1::EventBody& b) {
      b.mutable_admit()->set_member(key.str());
      b.mutable_admit()->mutable_info()->set_name("member" + std::to_string(i));
      b.mutable_admit()->mutable_info()->set_organisation(
          members_[static_cast<std::size_t>(i)].org);
    }),
       "admit");
    Ok(members_[static_cast<std::size_t>(i)].session->replica().SetCircle(circle_), "circle");
  }
}

Network::~Network() {
  for (auto& m : members_) {
    if (m.daemon) m.daemon->Stop();
  }
  io_.restart();
  io_.run_for(std::chrono::milliseconds(500));
  for (auto& m : members_) {
    m.node = nullptr;
    m.daemon.reset();
  }
  io_.restart();
  io_.run_for(std::chrono::milliseconds(100));
  members_.clear();
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

void Network::Start(int i, const std::vector<int>& peers, app::NodeConfig config, Api api) {
  auto& m = members_[static_cast<std::size_t>(i)];
  // What `polder node --listen ADDRESS --peer ADDRESS...` passes (the homes' [node] settings
  // are the defaults: no bootstrap, nothing advertised).
  app::DaemonOptions options;
  options.listen = m.address.empty() ? "127.0.0.1:0" : m.address;
  for (int p : peers) {
    const auto& a = members_[static_cast<std::size_t>(p)].address;
    if (!a.empty()) options.peers.push_back(a);
  }
  // Each member's replica starts without the circle's events: as if each held a join code from
  // every other member, it accepts them all until the charter and the member list arrive.
  for (int j = 0; j < admitted_; ++j) {
    config.bootstrap_members.push_back(
        members_[static_cast<std::size_t>(j)].session->key().public_key());
  }
  options.tuning = std::move(config);
  options.api = api == Api::kOn;
  m.daemon = std::make_unique<app::Daemon>(io_, *m.session, std::move(options));
  Ok(m.daemon->Start(), "start node");
  m.node = &m.daemon->node();
  const auto ep = m.node->local_endpoint();
  m.address = "127.0.0.1:" + std::to_string(ep.port());
}

void Network::Stop(int i) {
  auto& m = members_[static_cast<std::size_t>(i)];
  if (!m.daemon) return;
  m.daemon->Stop();
  RunFor(std::chrono::milliseconds(300));
  m.node = nullptr;
  m.daemon.reset();
  RunFor(std::chrono::milliseconds(50));
}

void Network::Reopen(int i) {
  auto& m = members_[static_cast<std::size_t>(i)];
  m.session.reset();
  auto home = Ok(app::Home::Resolve(m.dir), "home");
  m.session = std::make_unique<app::Session>(
      Ok(app::Session::Open(home, app::SessionOptions{true, true}), "reopen"));
}

bool Network::RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    io_.restart();
    io_.run_for(std::chrono::milliseconds(10));
  }
  return done();
}

void Network::RunFor(std::chrono::milliseconds d) {
  io_.restart();
  io_.run_for(d);
}

Status Network::RandomEvent(int i) {
  auto& m = members_[static_cast<std::size_t>(i)];
  std::uniform_int_distribution<int> kind(0, 9);
  const int k = kind(rng_);
  auto author = [&](const std::function<void(v1::EventBody&)>& fill) -> Status {
    auto r = m.node ? m.node->Author(fill) : m.session->Author(fill);
    if (!r) return Unexpected<Error>{r.error()};
    if (r->kind == "proposal") proposals_.push_back(r->id);
    return {};
  };
  if (proposals_.empty() || k < 2) {
    return author([&](v1::EventBody& b) {
      auto* p = b.mutable_proposal();
      p->set_title("proposal " + std::to_string(rng_() % 100000));
      p->set_amount_minor(1000 + static_cast<std::int64_t>(rng_() % 100000));
      p->set_deadline_ms(b.timestamp_ms() + 86'400'000);
    });
  }
  // Only proposals this member's replica holds can be voted on.
  std::vector<EventId> known;
  for (const auto& id : proposals_) {
    if (m.session->replica().state().ResolvePrefix(id.hex(), "proposal")) known.push_back(id);
  }
  if (known.empty() || k < 4) {
    return author([&](v1::EventBody& b) {
      b.mutable_comment()->set_text("comment " + std::to_string(rng_()));
    });
  }
  const EventId target = known[rng_() % known.size()];
  return author([&](v1::EventBody& b) {
    b.mutable_vote()->set_proposal(target.str());
    b.mutable_vote()->set_choice(rng_() % 2 ? v1::FOR : v1::AGAINST);
  });
}

bool Network::HasPeer(int i, int j) {
  const auto want = crypto::FormatMemberId(member(j).session->key().public_key());
  const v1::NodeView view = member(i).node->View();
  for (const auto& p : view.peers()) {
    if (p.member_id() == want) return true;
  }
  return false;
}

bool Network::Mesh(const std::vector<int>& which) {
  for (int i : which) {
    for (int j : which) {
      if (i != j && !HasPeer(i, j)) return false;
    }
  }
  return VectorsEqual(which);
}

void Network::StartAll(const std::vector<int>& which, const app::NodeConfig& config) {
  std::vector<int> started;
  for (int i : which) {
    Start(i, started, config);
    started.push_back(i);
  }
}

Status Network::Remove(int by, int member_index) {
  const std::string key = member(member_index).session->key().public_key().str();
  auto r = member(by).node->Author([&](v1::EventBody& b) {
    b.mutable_removal()->set_member(key);
    b.mutable_removal()->set_reason("left the partnership");
  });
  if (!r) return Unexpected<Error>{r.error()};
  return {};
}

bool Network::VectorsEqual(const std::vector<int>& which) const {
  std::optional<Digest32> first;
  for (int i : which) {
    const auto& m = members_[static_cast<std::size_t>(i)];
    if (!m.node) return false;
    const Digest32 d = m.node->syncer().vector().Digest();
    if (!first) {
      first = d;
    } else if (d != *first) {
      return false;
    }
  }
  return true;
}

Digest32 Network::StateDigest(int i) {
  return Ok(members_[static_cast<std::size_t>(i)].session->replica().StateDigest(), "digest");
}

}  // namespace polder::testing
