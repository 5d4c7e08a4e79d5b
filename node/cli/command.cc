#include "node/cli/command.h"

#include <filesystem>
#include <iostream>
#include <optional>

#include "crypto/key_file.h"
#include "crypto/member_id.h"
#include "node/api/client.h"
#include "node/app/join_code.h"
#include "node/cli/amount.h"
#include "node/cli/output.h"
#include "polder/v1/api.pb.h"

namespace polder::cli {

void Must(const Status& s) {
  if (!s) throw CommandError{s.error()};
}

void Usage(std::string message) {
  throw CommandError{Error{Errc::kInvalidArgument, std::move(message)}, true};
}

app::Home ResolveHome(const Globals& g) {
  std::optional<std::filesystem::path> flag;
  if (!g.home.empty()) flag = g.home;
  return Must(app::Home::Resolve(flag));
}

app::Session OpenSession(const Globals& g, bool need_identity, bool write) {
  app::Session s =
      Must(app::Session::Open(ResolveHome(g), app::SessionOptions{need_identity, write}));
  for (const auto& note : s.notes()) std::cerr << "note: " << note << "\n";
  return s;
}

void Emit(const Globals& g, const google::protobuf::Message& m, const std::string& human) {
  if (g.json) {
    std::cout << ToJson(m) << "\n";
  } else {
    std::cout << human;
  }
}

void PrintReceipt(const Globals& g, app::Session& s, const app::Session::Authored& a,
                  const std::string& human, const std::string& join_code,
                  const std::vector<v1::PartnerCode>& partner_codes) {
  v1::EventReceipt r;
  r.set_event_id(a.id.hex());
  r.set_kind(a.kind);
  r.set_seq(a.seq);
  r.set_author(crypto::FormatMemberId(s.key().public_key()));
  if (auto c = s.replica().circle()) r.set_circle_id(c->hex());
  r.set_join_code(join_code);
  for (const auto& p : partner_codes) *r.add_partner_codes() = p;
  Emit(g, r,
       human + "\n  event " + a.id.hex().substr(0, 12) + " (your seq " + std::to_string(a.seq) +
           ")\n");
}

EventId ResolveId(app::Session& s, const std::string& prefix, const char* kind) {
  return Must(GivenId(s.replica().state().ResolvePrefix(prefix, kind)));
}

std::string Short(const std::string& hex) { return hex.substr(0, 12); }

std::string MakeJoinCode(app::Session& s, const std::vector<std::string>& addresses,
                         const MemberKey& member, bool device, std::int64_t expires_ms) {
  auto nk = crypto::LoadSecretFile(s.home().network_key_file(), app::kNetworkKeyHeader, 32);
  if (!nk) return "";
  const MemberKey& me = s.key().public_key();
  v1::JoinCode jc;
  jc.set_circle_id(s.replica().circle()->str());
  jc.set_network_key(std::string(nk->begin(), nk->end()));
  for (const auto& addr : JoinAddresses(s, addresses)) jc.add_addresses(addr);
  jc.set_member(member.str());
  jc.set_inviter(me.str());
  if (device) jc.set_device_of(me.str());
  jc.set_expires_ms(expires_ms);
  return app::EncodeJoinCode(jc);
}

std::int64_t JoinCodeExpiry(const std::string& expires) {
  if (expires == "never") return 0;
  const auto after = ParseDuration(expires);
  if (!after || *after <= 0) {
    Usage("--expires must be a duration such as 7d, 36h or 90m, or never; not '" + expires + "'");
  }
  return app::NowMs() + *after;
}

std::vector<std::string> JoinAddresses(app::Session& s, const std::vector<std::string>& flags) {
  if (!flags.empty()) return flags;
  auto settings = Must(app::ReadNodeSettings(s.home()));
  if (!settings.advertise.empty()) return settings.advertise;
  if (auto client = api::ApiClient::Find(s.home().api_files())) {
    if (auto info = client->NodeInfo(); info && !info->listen().empty()) {
      std::string a = info->listen();
      if (a.rfind("0.0.0.0:", 0) == 0) a = "127.0.0.1:" + a.substr(8);
      return {a};
    }
  }
  std::string a = settings.listen;
  if (a.rfind("0.0.0.0:", 0) == 0) a = "127.0.0.1:" + a.substr(8);
  return {a};
}

}  // namespace polder::cli
