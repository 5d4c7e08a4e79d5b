// `polder device link`, `polder device revoke` and `polder device list`: one member on several
// machines, each with its own key and log (docs/protocol.md §5a, docs/cli.md).
#include <memory>
#include <optional>
#include <string>

#include "crypto/member_id.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "polder/v1/api.pb.h"

namespace polder::cli {
namespace {

struct LinkArgs {
  std::string device_id, expires = "7d";
  std::vector<std::string> addresses;
};

int CmdDeviceLink(const Globals& g, const LinkArgs& args) {
  app::Session s = OpenSession(g, true, true);
  const MemberKey device = Must(crypto::ParseMemberId(args.device_id));
  const MemberKey& me = s.key().public_key();
  if (device == me) Usage("that is this machine's own member ID; give the other machine's");
  const std::int64_t expires_ms = JoinCodeExpiry(args.expires);
  if (!s.replica().state().IsMember(me)) {
    Usage("only a member's own key links devices (this home is not a member's, or not yet)");
  }
  auto a =
      Must(s.Author([&](v1::EventBody& b) { b.mutable_device_link()->set_device(device.str()); }));
  std::string human = "✓ Linked device " + crypto::Fingerprint(device) +
                      ": what it writes counts as yours, from its own log";
  const std::string code = MakeJoinCode(s, args.addresses, device, /*device=*/true, expires_ms);
  if (!code.empty()) {
    human +=
        "\n  join code for the device (SECRET: it holds the circle's network key; move it "
        "privately, once):\n\n" +
        code + "\n\n  on the device: polder join CODE && polder node";
  }
  PrintReceipt(g, s, a, human, code);
  return kExitOk;
}

struct RevokeArgs {
  std::string device_id;
  std::optional<std::uint64_t> last_seq;
};

int CmdDeviceRevoke(const Globals& g, const RevokeArgs& args) {
  app::Session s = OpenSession(g, true, true);
  const MemberKey device = Must(crypto::ParseMemberId(args.device_id));
  const auto devices = Must(s.replica().state().DevicesOf(s.key().public_key()));
  const auto it = std::find_if(devices.begin(), devices.end(),
                               [&](const storage::DeviceRow& d) { return d.device == device; });
  if (it == devices.end()) Usage("you have not linked that device");
  // By default what this replica holds of the device counts, and nothing after it: a lost
  // machine's later events count for nothing, however they are timestamped.
  const std::uint64_t last = args.last_seq.value_or(it->head_seq);
  auto a = Must(s.Author([&](v1::EventBody& b) {
    auto* l = b.mutable_device_link();
    l->set_device(device.str());
    l->set_revoke(true);
    l->set_last_seq(last);
  }));
  PrintReceipt(g, s, a,
               "✓ Revoked device " + crypto::Fingerprint(device) + ": its events after seq " +
                   std::to_string(last) + " count for nothing, and its node is refused");
  return kExitOk;
}

int CmdDeviceList(const Globals& g) {
  app::Session s = OpenSession(g, true, false);
  const MemberKey& me = s.key().public_key();
  v1::DeviceList out;
  out.set_member_id(crypto::FormatMemberId(me));
  std::string human;
  for (const auto& d : Must(s.replica().state().DevicesOf(me))) {
    auto* x = out.add_devices();
    x->set_device_id(crypto::FormatMemberId(d.device));
    x->set_fingerprint(crypto::Fingerprint(d.device));
    x->set_claimed(d.claimed);
    x->set_head_seq(d.head_seq);
    x->set_revoked(d.revoked_after.has_value());
    x->set_revoked_after(d.revoked_after.value_or(0));
    human += "  " + x->fingerprint() + "  " +
             (d.revoked_after ? "revoked after seq " + std::to_string(*d.revoked_after)
              : d.claimed     ? "active, log at seq " + std::to_string(d.head_seq)
                              : "linked; its first event has not arrived here yet") +
             "\n    " + x->device_id() + "\n";
  }
  if (human.empty()) human = "  no devices (link one with `polder device link DEVICE-ID`)\n";
  Emit(g, out, "Devices of " + crypto::Fingerprint(me) + ":\n" + human);
  return kExitOk;
}

}  // namespace

void RegisterDeviceCommands(CLI::App& app, const Globals& g, Runner& run) {
  auto* device = app.add_subcommand(
      "device", "your other machines: each has its own key; never copy identity.key");
  device->require_subcommand(1);

  auto la = std::make_shared<LinkArgs>();
  auto* link = device->add_subcommand(
      "link", "link another machine of yours (run `polder init` there and give its member ID)");
  link->add_option("DEVICE_ID", la->device_id, "the other machine's member ID (`polder id` there)")
      ->required();
  link->add_option("--address", la->addresses,
                   "node address for the join code, host:port (default: [node] advertise, or the "
                   "running node's)");
  link->add_option("--expires", la->expires, kJoinCodeExpiresHelp);
  link->callback([&g, &run, la] { run = [&g, la] { return CmdDeviceLink(g, *la); }; });

  auto ra = std::make_shared<RevokeArgs>();
  auto* revoke = device->add_subcommand(
      "revoke", "revoke a device (a lost or retired machine): its later events count for nothing");
  revoke->add_option("DEVICE_ID", ra->device_id, "the device's member ID")->required();
  revoke->add_option("--last-seq", ra->last_seq,
                     "the device's last event that counts (default: the last one held here)");
  revoke->callback([&g, &run, ra] { run = [&g, ra] { return CmdDeviceRevoke(g, *ra); }; });

  auto* list = device->add_subcommand("list", "the devices you linked");
  list->callback([&g, &run] { run = [&g] { return CmdDeviceList(g); }; });
}

}  // namespace polder::cli
