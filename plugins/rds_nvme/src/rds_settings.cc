#include "rds_settings.hpp"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "message_text.hpp"
#include "nvme_paths.hpp"

namespace polycsi::rds_nvme {
namespace {

// Reads one present key's text into the settings; throws INVALID_ARGUMENT naming the key.
using Apply = void (*)(RdsSettings& out, const std::string& key, const std::string& text);

struct Key {
  const char* name;
  SettingKind kind;
  bool secret;
  const char* description;
  Apply apply;
  // The role that cannot work without the key (the core checks it against the descriptor).
  std::optional<Role> requiredIn = std::nullopt;
};

int64_t integerIn(const std::string& key, const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max)
    throw Error(Code::kInvalidArgument, "setting '" + key + "' must be an integer from " +
                                            std::to_string(min) + " to " + std::to_string(max) +
                                            ", got " + printableForMessage(text));
  return value;
}

std::chrono::seconds secondsIn(const std::string& key, const std::string& text, int64_t min,
                               int64_t max) {
  return std::chrono::seconds(integerIn(key, text, min, max));
}

bool boolean(const std::string& key, const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  throw Error(Code::kInvalidArgument,
              "setting '" + key + "' must be true or false, got " + printableForMessage(text));
}

std::string what(const std::string& key) { return "setting '" + key + "'"; }

void applyUser(RdsSettings& out, const std::string& key, const std::string& text) {
  bool ok = text.size() <= 64 && !text.empty() && std::isalnum(static_cast<unsigned char>(text[0]));
  for (char c : text)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  // An empty user counts as unset (the controller then asks for one).
  if (!ok && !text.empty())
    throw Error(Code::kInvalidArgument, what(key) +
                                            " must be 1-64 characters of [A-Za-z0-9._-] starting "
                                            "with a letter or digit, got " +
                                            printableForMessage(text));
  out.user = text;
}

void applyVolumePrefix(RdsSettings& out, const std::string& key, const std::string& text) {
  out.volumePrefix = SlotPrefix::parse(text, what(key));
  if (text.rfind("snap", 0) == 0)
    throw Error(Code::kInvalidArgument,
                what(key) + " must not start with 'snap': snapshot slots use it");
}

void applyHostNqnFile(RdsSettings& out, const std::string& key, const std::string& text) {
  if (text.empty() || text.front() != '/' || text.find('\0') != std::string::npos ||
      text.size() > 4096 || text.back() == '/')
    throw Error(Code::kInvalidArgument,
                what(key) + " must be an absolute file path, got " + printableForMessage(text));
  out.hostNqnFile = text;
}

void applyOrphanScanInterval(RdsSettings& out, const std::string& key, const std::string& text) {
  out.orphanScanInterval = secondsIn(key, text, 0, 86400);
  if (out.orphanScanInterval.count() > 0 && out.orphanScanInterval.count() < 60)
    throw Error(Code::kInvalidArgument, what(key) + " must be 0 (off) or from 60 to 86400");
}

// Every key, in the order the README documents them, with how its text is read. Defaults are
// the member initializers of RdsSettings. Longer than 80 lines because it is one table, a row
// per key: split, a key's row would no longer sit beside its neighbours in README order.
const std::vector<Key>& keys() {
  using S = RdsSettings;
  using T = const std::string&;
  static const std::vector<Key> k = {
      {"address", SettingKind::kString, false,
       "RDS management address (IP or DNS name) for SSH. Required for the controller.",
       [](S& o, T key, T v) { o.address = HostAddress::parse(v, what(key)); }, Role::kController},
      {"port", SettingKind::kInteger, false, "SSH port. Default: 22.",
       [](S& o, T key, T v) {
         o.port = PortNumber::of(static_cast<int>(integerIn(key, v, 1, 65535)), key);
       }},
      {"user", SettingKind::kString, false, "SSH user. Required for the controller.", &applyUser,
       Role::kController},
      {"private_key", SettingKind::kString, true,
       "SSH private key text (PEM or OpenSSH format, unencrypted).",
       [](S& o, T, T v) { o.privateKey = v; }},
      {"private_key_file", SettingKind::kString, false, "Path of an SSH private key file.",
       [](S& o, T, T v) { o.privateKeyFile = v; }},
      {"password", SettingKind::kString, true, "SSH password.",
       [](S& o, T, T v) { o.password = v; }},
      {"host_key_fingerprint", SettingKind::kString, false,
       "Pinned RDS host key fingerprint, 'SHA256:<base64>' as `ssh-keygen -lf` prints it.",
       [](S& o, T, T v) { o.hostKeyFingerprint = v; }},
      {"host_public_key", SettingKind::kString, false,
       "Pinned RDS host public key, 'ssh-ed25519 AAAA...' (alternative to the fingerprint).",
       [](S& o, T, T v) { o.hostPublicKey = v; }},
      {"insecure_ignore_host_key", SettingKind::kBoolean, false,
       "Accept any RDS host key (INSECURE: allows a man-in-the-middle). Default: false.",
       [](S& o, T key, T v) { o.insecureIgnoreHostKey = boolean(key, v); }},
      {"base_path", SettingKind::kString, false,
       "Directory on the RDS for volume files, e.g. /storage-pool/kubernetes-volumes. Required "
       "for the controller; StorageClass parameter rdsBasePath/volumePath overrides it.",
       [](S& o, T key, T v) { o.basePath = DiskPath::parse(v, what(key)); }, Role::kController},
      {"pool", SettingKind::kString, false,
       "Mount point whose free space is the capacity. Default: base_path's first component.",
       [](S& o, T key, T v) { o.pool = MountPoint::parse(v, what(key)); }},
      {"nvme_address", SettingKind::kString, false,
       "Address nodes connect to for NVMe/TCP. Default: address.",
       [](S& o, T key, T v) { o.nvmeAddress = HostAddress::parse(v, what(key)); }},
      {"nvme_addresses", SettingKind::kString, false,
       "Addresses nodes connect to for NVMe/TCP, comma-separated, one per path to the same "
       "subsystem (native NVMe multipath); instead of nvme_address. Default: nvme_address.",
       [](S& o, T key, T v) { o.nvmeAddresses = parseNvmeAddressList(v, what(key)); }},
      {"nvme_port", SettingKind::kInteger, false, "NVMe/TCP port of the exports. Default: 4420.",
       [](S& o, T key, T v) {
         o.nvmePort = PortNumber::of(static_cast<int>(integerIn(key, v, 1, 65535)), key);
       }},
      {"nqn_prefix", SettingKind::kString, false,
       "Subsystem NQN prefix; a volume's NQN is <prefix>:<slot>. Default: "
       "nqn.2000-02.com.mikrotik.",
       [](S& o, T key, T v) { o.nqnPrefix = Nqn::parsePrefix(v, what(key)); }},
      {"volume_prefix", SettingKind::kString, false,
       "Slot prefix of this driver's volumes (also how orphans are found). Default: pvc-.",
       &applyVolumePrefix},
      {"command_timeout_seconds", SettingKind::kInteger, false,
       "Timeout of one RouterOS command, 1-600. Default: 30.",
       [](S& o, T key, T v) { o.commandTimeout = secondsIn(key, v, 1, 600); }},
      {"copy_timeout_seconds", SettingKind::kInteger, false,
       "Timeout of one /disk add copy-from (snapshot, restore, clone), which runs past the call "
       "that started it, 60-86400. Default: 3600.",
       [](S& o, T key, T v) { o.copyTimeout = secondsIn(key, v, 60, 86400); }},
      {"pool_size", SettingKind::kInteger, false,
       "Persistent SSH sessions, 1-16, opened as concurrent calls need them. Default: 8.",
       [](S& o, T key, T v) { o.poolSize = static_cast<int>(integerIn(key, v, 1, 16)); }},
      {"keepalive_interval_seconds", SettingKind::kInteger, false,
       "Keepalive period of idle SSH sessions, 5-3600. Default: 30.",
       [](S& o, T key, T v) { o.keepaliveInterval = secondsIn(key, v, 5, 3600); }},
      {"fencing", SettingKind::kBoolean, false,
       "Allow only published nodes' host NQNs on a volume's export "
       "(nvme-tcp-server-allow-host-name). Default: true.",
       [](S& o, T key, T v) { o.fencing = boolean(key, v); }},
      {"delete_orphans", SettingKind::kBoolean, false,
       "Delete orphaned disks (found twice in a row) instead of only reporting them. Default: "
       "false.",
       [](S& o, T key, T v) { o.deleteOrphans = boolean(key, v); }},
      {"orphan_scan_interval_seconds", SettingKind::kInteger, false,
       "Period of the orphan scan, 60-86400, or 0 to turn the scan off. Default: 600.",
       &applyOrphanScanInterval},
      {"host_nqn_file", SettingKind::kString, false,
       "Node: file holding the node's NVMe host NQN, generated with libnvme when missing. "
       "Default: /etc/nvme/hostnqn.",
       &applyHostNqnFile},
      {"ctrl_loss_tmo_seconds", SettingKind::kInteger, false,
       "Node: how long the kernel keeps reconnecting a lost NVMe/TCP controller, with I/O "
       "waiting, before it fails I/O and removes the controller (ctrl_loss_tmo), 1-86400. "
       "Default: 600.",
       [](S& o, T key, T v) { o.ctrlLossTmo = secondsIn(key, v, 1, 86400); }},
      {"reconnect_delay_seconds", SettingKind::kInteger, false,
       "Node: pause between reconnect attempts (reconnect_delay), 1-3600, at most "
       "ctrl_loss_tmo_seconds. Default: 10.",
       [](S& o, T key, T v) { o.reconnectDelay = secondsIn(key, v, 1, 3600); }},
      {"keep_alive_tmo_seconds", SettingKind::kInteger, false,
       "Node: NVMe keep-alive timeout (keep_alive_tmo), 1-3600. Default: 5.",
       [](S& o, T key, T v) { o.keepAliveTmo = secondsIn(key, v, 1, 3600); }},
      {"device_timeout_seconds", SettingKind::kInteger, false,
       "Node: how long attach waits for the namespace's block device to appear, 1-600. "
       "Default: 30.",
       [](S& o, T key, T v) { o.deviceTimeout = secondsIn(key, v, 1, 600); }},
  };
  return k;
}

void requireOne(bool present, const std::string& message) {
  if (!present) throw Error(Code::kInvalidArgument, message);
}

// Rules that span keys, checked in every role.
void checkCombinations(const RdsSettings& out) {
  if (out.reconnectDelay > out.ctrlLossTmo)
    throw Error(Code::kInvalidArgument,
                "setting 'reconnect_delay_seconds' must not exceed 'ctrl_loss_tmo_seconds': the "
                "kernel would give up before its first reconnect");
  if (out.nvmeAddress && !out.nvmeAddresses.empty())
    throw Error(Code::kInvalidArgument,
                "set only one of 'nvme_address' and 'nvme_addresses' (list the single address "
                "in nvme_addresses)");
  if (!out.hostKeyFingerprint.empty() && !out.hostPublicKey.empty())
    throw Error(Code::kInvalidArgument,
                "set only one of 'host_key_fingerprint' and 'host_public_key'");
  if (!out.privateKey.empty() && !out.privateKeyFile.empty())
    throw Error(Code::kInvalidArgument, "set only one of 'private_key' and 'private_key_file'");
}

// The keys' contents, checked only where SSH is spoken (the controller): reading them needs the
// SSH library, which a node never loads (ssh_module.hpp).
void checkSshKeys(const RdsSettings& out) {
  validateHostKeyPin(out.hostKeyFingerprint, out.hostPublicKey);
  if (!out.privateKey.empty() || !out.privateKeyFile.empty())
    validatePrivateKey(out.privateKey, out.privateKeyFile);
}

// What only the controller needs: the router, how to log in, and where volumes go.
void checkController(const RdsSettings& out) {
  requireOne(out.address.has_value(), "setting 'address' is required");
  requireOne(!out.user.empty(), "setting 'user' is required");
  requireOne(!out.privateKey.empty() || !out.privateKeyFile.empty() || !out.password.empty(),
             "SSH credentials are required: set 'private_key', 'private_key_file' or "
             "'password'");
  requireOne(
      !out.hostKeyFingerprint.empty() || !out.hostPublicKey.empty() || out.insecureIgnoreHostKey,
      "the RDS host key must be pinned: set 'host_key_fingerprint' (SHA256:...) or "
      "'host_public_key', or set 'insecure_ignore_host_key: true' to accept any key");
  requireOne(out.basePath.has_value(), "setting 'base_path' is required");
}

}  // namespace

RdsSettings RdsSettings::parse(const StringMap& settings, bool controller) {
  // Unknown keys never get here: the core refuses them against the descriptor's specs.
  RdsSettings out;
  for (const Key& key : keys())
    if (auto it = settings.find(key.name); it != settings.end())
      key.apply(out, it->first, it->second);
  checkCombinations(out);
  if (controller) {
    checkController(out);
    checkSshKeys(out);
  }
  return out;
}
void RdsSettings::check(const StringMap& settings, Role role) {
  parse(settings, role != Role::kNode);
}

std::vector<HostAddress> RdsSettings::nvmePaths() const {
  if (!nvmeAddresses.empty()) return nvmeAddresses;
  if (nvmeAddress) return {*nvmeAddress};
  if (address) return {*address};
  return {};
}

SshOptions RdsSettings::sshOptions() const {
  SshOptions o;
  o.host = address ? address->str() : std::string();
  o.port = port.value();
  o.user = user;
  o.privateKey = privateKey;
  o.privateKeyFile = privateKeyFile;
  o.password = password;
  o.hostKeyFingerprint = hostKeyFingerprint;
  o.hostPublicKey = hostPublicKey;
  o.insecureIgnoreHostKey = insecureIgnoreHostKey;
  o.connectTimeout = std::min<std::chrono::milliseconds>(commandTimeout, std::chrono::seconds(10));
  return o;
}

std::vector<SettingSpec> rdsSettingSpecs() {
  std::vector<SettingSpec> out;
  // Nothing is required in every role: a node-only instance needs no SSH settings. The
  // controller's address, user and base_path are declared as its own, so `polycsi
  // validate-config` names them per mode; RdsSettings::parse() checks what no single key can
  // say (credentials, a pinned host key) when the controller side is served.
  for (const auto& k : keys())
    out.push_back(SettingSpec{k.name, k.kind, false, k.secret, k.description, k.requiredIn});
  return out;
}

}  // namespace polycsi::rds_nvme
