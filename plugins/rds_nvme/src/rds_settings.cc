#include "rds_settings.hpp"

#include <charconv>
#include <set>

#include "message_text.hpp"

namespace polycsi::rds_nvme {
namespace {

struct Key {
  const char* name;
  SettingKind kind;
  bool secret;
  const char* description;
};

// Every key, in the order the README documents them.
const std::vector<Key>& keys() {
  static const std::vector<Key> k = {
      {"address", SettingKind::kString, false,
       "RDS management address (IP or DNS name) for SSH. Required for the controller."},
      {"port", SettingKind::kInteger, false, "SSH port. Default: 22."},
      {"user", SettingKind::kString, false, "SSH user. Required for the controller."},
      {"private_key", SettingKind::kString, true,
       "SSH private key text (PEM or OpenSSH format, unencrypted)."},
      {"private_key_file", SettingKind::kString, false, "Path of an SSH private key file."},
      {"password", SettingKind::kString, true, "SSH password."},
      {"host_key_fingerprint", SettingKind::kString, false,
       "Pinned RDS host key fingerprint, 'SHA256:<base64>' as `ssh-keygen -lf` prints it."},
      {"host_public_key", SettingKind::kString, false,
       "Pinned RDS host public key, 'ssh-ed25519 AAAA...' (alternative to the fingerprint)."},
      {"insecure_ignore_host_key", SettingKind::kBoolean, false,
       "Accept any RDS host key (INSECURE: allows a man-in-the-middle). Default: false."},
      {"base_path", SettingKind::kString, false,
       "Directory on the RDS for volume files, e.g. /storage-pool/kubernetes-volumes. Required "
       "for the controller; StorageClass parameter rdsBasePath/volumePath overrides it."},
      {"pool", SettingKind::kString, false,
       "Mount point whose free space is the capacity. Default: base_path's first component."},
      {"nvme_address", SettingKind::kString, false,
       "Address nodes connect to for NVMe/TCP. Default: address."},
      {"nvme_port", SettingKind::kInteger, false, "NVMe/TCP port of the exports. Default: 4420."},
      {"nqn_prefix", SettingKind::kString, false,
       "Subsystem NQN prefix; a volume's NQN is <prefix>:<slot>. Default: "
       "nqn.2000-02.com.mikrotik."},
      {"volume_prefix", SettingKind::kString, false,
       "Slot prefix of this driver's volumes (also how orphans are found). Default: pvc-."},
      {"command_timeout_seconds", SettingKind::kInteger, false,
       "Timeout of one RouterOS command, 1-600. Default: 30."},
      {"copy_timeout_seconds", SettingKind::kInteger, false,
       "Timeout of one /disk add copy-from (snapshot, restore, clone), which runs past the call "
       "that started it, 60-86400. Default: 3600."},
      {"pool_size", SettingKind::kInteger, false, "Persistent SSH sessions, 1-16. Default: 2."},
      {"keepalive_interval_seconds", SettingKind::kInteger, false,
       "Keepalive period of idle SSH sessions, 5-3600. Default: 30."},
      {"fencing", SettingKind::kBoolean, false,
       "Allow only published nodes' host NQNs on a volume's export "
       "(nvme-tcp-server-allow-host-name). Default: true."},
      {"delete_orphans", SettingKind::kBoolean, false,
       "Delete orphaned disks (found twice in a row) instead of only reporting them. Default: "
       "false."},
      {"orphan_scan_interval_seconds", SettingKind::kInteger, false,
       "Period of the orphan scan, 60-86400, or 0 to turn the scan off. Default: 600."},
      {"host_nqn_file", SettingKind::kString, false,
       "Node: file holding the node's NVMe host NQN, generated with libnvme when missing. "
       "Default: /etc/nvme/hostnqn."},
      {"ctrl_loss_tmo_seconds", SettingKind::kInteger, false,
       "Node: how long the kernel keeps reconnecting a lost NVMe/TCP controller, with I/O "
       "waiting, before it fails I/O and removes the controller (ctrl_loss_tmo), 1-86400. "
       "Default: 600."},
      {"reconnect_delay_seconds", SettingKind::kInteger, false,
       "Node: pause between reconnect attempts (reconnect_delay), 1-3600, at most "
       "ctrl_loss_tmo_seconds. Default: 10."},
      {"keep_alive_tmo_seconds", SettingKind::kInteger, false,
       "Node: NVMe keep-alive timeout (keep_alive_tmo), 1-3600. Default: 5."},
      {"device_timeout_seconds", SettingKind::kInteger, false,
       "Node: how long attach waits for the namespace's block device to appear, 1-600. "
       "Default: 30."},
  };
  return k;
}

const std::string* find(const StringMap& settings, const std::string& key) {
  auto it = settings.find(key);
  return it == settings.end() ? nullptr : &it->second;
}

int64_t integer(const StringMap& settings, const std::string& key, int64_t fallback, int64_t min,
                int64_t max) {
  const std::string* text = find(settings, key);
  if (text == nullptr) return fallback;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || value < min ||
      value > max)
    throw Error(Code::kInvalidArgument, "setting '" + key + "' must be an integer from " +
                                            std::to_string(min) + " to " + std::to_string(max) +
                                            ", got " + printableForMessage(*text));
  return value;
}

bool boolean(const StringMap& settings, const std::string& key, bool fallback) {
  const std::string* text = find(settings, key);
  if (text == nullptr) return fallback;
  if (*text == "true") return true;
  if (*text == "false") return false;
  throw Error(Code::kInvalidArgument,
              "setting '" + key + "' must be true or false, got " + printableForMessage(*text));
}

std::string plain(const StringMap& settings, const std::string& key) {
  const std::string* text = find(settings, key);
  return text == nullptr ? std::string() : *text;
}

}  // namespace

RdsSettings RdsSettings::parse(const StringMap& settings, bool controller) {
  std::set<std::string> known;
  for (const auto& k : keys()) known.insert(k.name);
  for (const auto& [key, value] : settings)
    if (!known.count(key))
      throw Error(Code::kInvalidArgument, "unknown setting " + printableForMessage(key) +
                                              " for the rds_nvme plugin (see its README)");
  RdsSettings out;
  if (const std::string* v = find(settings, "address"))
    out.address = HostAddress::parse(*v, "setting 'address'");
  out.port = PortNumber::of(static_cast<int>(integer(settings, "port", 22, 1, 65535)), "port");
  out.user = plain(settings, "user");
  if (!out.user.empty()) {
    bool ok = out.user.size() <= 64 && std::isalnum(static_cast<unsigned char>(out.user[0]));
    for (char c : out.user)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
    if (!ok)
      throw Error(Code::kInvalidArgument,
                  "setting 'user' must be 1-64 characters of "
                  "[A-Za-z0-9._-] starting with a letter or digit, got " +
                      printableForMessage(out.user));
  }
  out.privateKey = plain(settings, "private_key");
  out.privateKeyFile = plain(settings, "private_key_file");
  out.password = plain(settings, "password");
  out.hostKeyFingerprint = plain(settings, "host_key_fingerprint");
  out.hostPublicKey = plain(settings, "host_public_key");
  out.insecureIgnoreHostKey = boolean(settings, "insecure_ignore_host_key", false);
  if (const std::string* v = find(settings, "base_path"))
    out.basePath = DiskPath::parse(*v, "setting 'base_path'");
  if (const std::string* v = find(settings, "pool"))
    out.pool = MountPoint::parse(*v, "setting 'pool'");
  if (const std::string* v = find(settings, "nvme_address"))
    out.nvmeAddress = HostAddress::parse(*v, "setting 'nvme_address'");
  out.nvmePort =
      PortNumber::of(static_cast<int>(integer(settings, "nvme_port", 4420, 1, 65535)), "nvme_port");
  if (const std::string* v = find(settings, "nqn_prefix"))
    out.nqnPrefix = Nqn::parsePrefix(*v, "setting 'nqn_prefix'");
  if (const std::string* v = find(settings, "volume_prefix")) {
    out.volumePrefix = SlotPrefix::parse(*v, "setting 'volume_prefix'");
    if (v->rfind("snap", 0) == 0)
      throw Error(Code::kInvalidArgument,
                  "setting 'volume_prefix' must not start with 'snap': snapshot slots use it");
  }
  out.commandTimeout =
      std::chrono::seconds(integer(settings, "command_timeout_seconds", 30, 1, 600));
  out.copyTimeout =
      std::chrono::seconds(integer(settings, "copy_timeout_seconds", 3600, 60, 86400));
  out.poolSize = static_cast<int>(integer(settings, "pool_size", 2, 1, 16));
  out.keepaliveInterval =
      std::chrono::seconds(integer(settings, "keepalive_interval_seconds", 30, 5, 3600));
  out.fencing = boolean(settings, "fencing", true);
  out.deleteOrphans = boolean(settings, "delete_orphans", false);
  out.orphanScanInterval =
      std::chrono::seconds(integer(settings, "orphan_scan_interval_seconds", 600, 0, 86400));
  if (const std::string* v = find(settings, "host_nqn_file")) {
    if (v->empty() || v->front() != '/' || v->find('\0') != std::string::npos || v->size() > 4096 ||
        v->back() == '/')
      throw Error(
          Code::kInvalidArgument,
          "setting 'host_nqn_file' must be an absolute file path, got " + printableForMessage(*v));
    out.hostNqnFile = *v;
  }
  out.ctrlLossTmo = std::chrono::seconds(integer(settings, "ctrl_loss_tmo_seconds", 600, 1, 86400));
  out.reconnectDelay =
      std::chrono::seconds(integer(settings, "reconnect_delay_seconds", 10, 1, 3600));
  if (out.reconnectDelay > out.ctrlLossTmo)
    throw Error(Code::kInvalidArgument,
                "setting 'reconnect_delay_seconds' must not exceed 'ctrl_loss_tmo_seconds': the "
                "kernel would give up before its first reconnect");
  out.keepAliveTmo = std::chrono::seconds(integer(settings, "keep_alive_tmo_seconds", 5, 1, 3600));
  out.deviceTimeout = std::chrono::seconds(integer(settings, "device_timeout_seconds", 30, 1, 600));
  if (out.orphanScanInterval.count() > 0 && out.orphanScanInterval.count() < 60)
    throw Error(Code::kInvalidArgument,
                "setting 'orphan_scan_interval_seconds' must be 0 (off) or from 60 to 86400");

  if (!out.hostKeyFingerprint.empty() && !out.hostPublicKey.empty())
    throw Error(Code::kInvalidArgument,
                "set only one of 'host_key_fingerprint' and 'host_public_key'");
  validateHostKeyPin(out.hostKeyFingerprint, out.hostPublicKey);
  if (!out.privateKey.empty() && !out.privateKeyFile.empty())
    throw Error(Code::kInvalidArgument, "set only one of 'private_key' and 'private_key_file'");
  if (!out.privateKey.empty() || !out.privateKeyFile.empty())
    validatePrivateKey(out.privateKey, out.privateKeyFile);

  if (controller) {
    if (!out.address) throw Error(Code::kInvalidArgument, "setting 'address' is required");
    if (out.user.empty()) throw Error(Code::kInvalidArgument, "setting 'user' is required");
    if (out.privateKey.empty() && out.privateKeyFile.empty() && out.password.empty())
      throw Error(Code::kInvalidArgument,
                  "SSH credentials are required: set 'private_key', 'private_key_file' or "
                  "'password'");
    if (out.hostKeyFingerprint.empty() && out.hostPublicKey.empty() && !out.insecureIgnoreHostKey)
      throw Error(Code::kInvalidArgument,
                  "the RDS host key must be pinned: set 'host_key_fingerprint' (SHA256:...) or "
                  "'host_public_key', or set 'insecure_ignore_host_key: true' to accept any key");
    if (!out.basePath) throw Error(Code::kInvalidArgument, "setting 'base_path' is required");
  }
  return out;
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
  // Nothing is required by the spec: the core checks it the same in every mode, and a
  // node-only instance needs no SSH settings. RdsSettings::parse() requires address, user,
  // credentials, a pinned host key and base_path when the controller side is served.
  for (const auto& k : keys())
    out.push_back(SettingSpec{k.name, k.kind, false, k.secret, k.description});
  return out;
}

}  // namespace polycsi::rds_nvme
