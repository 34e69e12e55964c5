#include "ssh_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace rds_sim {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxFailedLogins = 6;
constexpr int kPollMillis = 200;

// A key from authorized_keys, freed with the list.
struct KeyDeleter {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;

std::vector<KeyPtr> loadAuthorizedKeys(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read authorized keys file " + path.string());
  std::vector<KeyPtr> keys;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    std::istringstream fields(line);
    std::string first, second;
    if (!(fields >> first) || first[0] == '#') continue;
    fields >> second;
    // A line may start with options; the key type is then the second field.
    std::string type = first, blob = second;
    if (ssh_key_type_from_name(first.c_str()) == SSH_KEYTYPE_UNKNOWN) {
      type = second;
      fields >> blob;
    }
    const ssh_keytypes_e key_type = ssh_key_type_from_name(type.c_str());
    ssh_key key = nullptr;
    if (key_type == SSH_KEYTYPE_UNKNOWN ||
        ssh_pki_import_pubkey_base64(blob.c_str(), key_type, &key) != SSH_OK) {
      throw std::runtime_error("unreadable public key on line " + std::to_string(line_number) +
                               " of " + path.string());
    }
    keys.emplace_back(key);
  }
  if (keys.empty()) throw std::runtime_error("no public keys in " + path.string());
  return keys;
}

bool constantTimeEquals(const std::string& a, const std::string& b) {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return difference == 0;
}

}  // namespace

void ensureHostKey(const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) return;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  // Create the file with its final mode first so the key is never readable by others.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot create host key " + path.string() + ": " +
                             std::strerror(errno));
  }
  ::close(fd);
  ssh_key key = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
    std::filesystem::remove(path);
    throw std::runtime_error("cannot generate an ed25519 host key");
  }
  const int rc = ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, path.c_str());
  ssh_key_free(key);
  if (rc != SSH_OK) {
    std::filesystem::remove(path);
    throw std::runtime_error("cannot write host key " + path.string());
  }
}

// libssh state shared by all sessions: the bind (host key) and the authorized keys.
// The commands run, for SshServerOptions::command_log; shared by every session thread.
struct CommandLog {
  std::mutex mutex;
  std::ofstream out;
  void write(const char* login_method, const std::string& command) {
    if (!out.is_open()) return;
    std::lock_guard lock(mutex);
    out << login_method << '\t' << command << '\n' << std::flush;
  }
};

struct SshServer::Impl {
  ssh_bind bind = nullptr;
  std::vector<KeyPtr> authorized_keys;
  CommandLog command_log;
  ~Impl() {
    if (bind != nullptr) ssh_bind_free(bind);
  }
};

namespace {

// One exec channel of a session.
struct ChannelState {
  ssh_channel channel = nullptr;
  ssh_channel_callbacks_struct callbacks{};
  struct SessionState* session = nullptr;
  std::optional<std::string> pending_command;
  bool exec_seen = false;
  bool refused = false;   // shell/subsystem asked for: closed without running anything
  bool finished = false;  // reply sent and channel closed from our side
  bool peer_closed = false;
  int terminal_width = 0;  // from a pty request; 0 = none
};

// Everything one connection's callbacks need.
struct SessionState {
  const SshServerOptions* options = nullptr;
  const std::vector<KeyPtr>* authorized_keys = nullptr;
  ssh_session session = nullptr;
  bool authenticated = false;
  const char* login_method = "";  // "password" or "publickey" once authenticated
  int failed_logins = 0;
  Clock::time_point last_activity = Clock::now();
  std::list<ChannelState> channels;
};

int authPassword(ssh_session, const char* user, const char* password, void* userdata) {
  auto* state = static_cast<SessionState*>(userdata);
  const SshServerOptions& options = *state->options;
  if (options.password && user == options.user && constantTimeEquals(password, *options.password)) {
    state->authenticated = true;
    state->login_method = "password";
    return SSH_AUTH_SUCCESS;
  }
  ++state->failed_logins;
  spdlog::warn("login failure for user {} via password", user);
  return SSH_AUTH_DENIED;
}

int authPublicKey(ssh_session, const char* user, ssh_key key, char signature_state,
                  void* userdata) {
  auto* state = static_cast<SessionState*>(userdata);
  if (user != state->options->user || state->authorized_keys->empty()) {
    ++state->failed_logins;
    return SSH_AUTH_DENIED;
  }
  bool known = false;
  for (const KeyPtr& authorized : *state->authorized_keys) {
    if (ssh_key_cmp(key, authorized.get(), SSH_KEY_CMP_PUBLIC) == 0) known = true;
  }
  if (!known) {
    ++state->failed_logins;
    spdlog::warn("login failure for user {} via public key (key not authorized)", user);
    return SSH_AUTH_DENIED;
  }
  // A probe without signature is answered "acceptable"; libssh verifies the signature before
  // it reports SSH_PUBLICKEY_STATE_VALID.
  if (signature_state == SSH_PUBLICKEY_STATE_NONE) return SSH_AUTH_SUCCESS;
  if (signature_state == SSH_PUBLICKEY_STATE_VALID) {
    state->authenticated = true;
    state->login_method = "publickey";
    return SSH_AUTH_SUCCESS;
  }
  ++state->failed_logins;
  return SSH_AUTH_DENIED;
}

int channelExec(ssh_session, ssh_channel, const char* command, void* userdata) {
  auto* channel = static_cast<ChannelState*>(userdata);
  channel->session->last_activity = Clock::now();
  if (channel->exec_seen || channel->refused) return SSH_ERROR;
  channel->exec_seen = true;
  channel->pending_command = command;
  return SSH_OK;
}

int channelShell(ssh_session, ssh_channel, void* userdata) {
  auto* channel = static_cast<ChannelState*>(userdata);
  spdlog::info("refusing a shell channel: rds-sim serves exec channels only");
  channel->refused = true;
  return SSH_ERROR;
}

int channelSubsystem(ssh_session, ssh_channel, const char* subsystem, void* userdata) {
  auto* channel = static_cast<ChannelState*>(userdata);
  spdlog::info("refusing subsystem {}", subsystem);
  channel->refused = true;
  return SSH_ERROR;
}

int channelPty(ssh_session, ssh_channel, const char*, int width, int, int, int, void* userdata) {
  static_cast<ChannelState*>(userdata)->terminal_width = width;
  return SSH_OK;
}

int channelWindowChange(ssh_session, ssh_channel, int width, int, int, int, void* userdata) {
  static_cast<ChannelState*>(userdata)->terminal_width = width;
  return SSH_OK;
}

int channelEnv(ssh_session, ssh_channel, const char*, const char*, void*) { return SSH_OK; }

int channelData(ssh_session, ssh_channel, void*, uint32_t len, int, void* userdata) {
  // RouterOS reads no input for an exec command; the bytes are consumed and dropped.
  static_cast<ChannelState*>(userdata)->session->last_activity = Clock::now();
  return static_cast<int>(len);
}

void channelClose(ssh_session, ssh_channel, void* userdata) {
  static_cast<ChannelState*>(userdata)->peer_closed = true;
}

ssh_channel openSessionChannel(ssh_session session, void* userdata) {
  auto* state = static_cast<SessionState*>(userdata);
  if (!state->authenticated) return nullptr;
  state->last_activity = Clock::now();
  ssh_channel channel = ssh_channel_new(session);
  if (channel == nullptr) return nullptr;
  ChannelState& channel_state = state->channels.emplace_back();
  channel_state.channel = channel;
  channel_state.session = state;
  ssh_channel_callbacks_struct& callbacks = channel_state.callbacks;
  callbacks.userdata = &channel_state;
  callbacks.channel_exec_request_function = channelExec;
  callbacks.channel_shell_request_function = channelShell;
  callbacks.channel_subsystem_request_function = channelSubsystem;
  callbacks.channel_pty_request_function = channelPty;
  callbacks.channel_pty_window_change_function = channelWindowChange;
  callbacks.channel_env_request_function = channelEnv;
  callbacks.channel_data_function = channelData;
  callbacks.channel_close_function = channelClose;
  ssh_callbacks_init(&callbacks);
  ssh_set_channel_callbacks(channel, &callbacks);
  return channel;
}

bool writeAll(ssh_channel channel, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const int n =
        ssh_channel_write(channel, data.data() + done, static_cast<uint32_t>(data.size() - done));
    if (n == SSH_ERROR) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void freeChannel(ChannelState& state) {
  ssh_remove_channel_callbacks(state.channel, &state.callbacks);
  if (!state.finished && ssh_channel_is_open(state.channel)) ssh_channel_close(state.channel);
  ssh_channel_free(state.channel);
  state.channel = nullptr;
}

// Serves one accepted connection until it closes, times out, is dropped by fault injection
// or the server stops. Owns and frees `session`.
void serveConnection(ssh_session session, const SshServerOptions& options,
                     const std::vector<KeyPtr>& authorized_keys, CommandProcessor& processor,
                     CommandLog& command_log, const std::atomic<bool>& stopping) {
  SessionState state;
  state.options = &options;
  state.authorized_keys = &authorized_keys;
  state.session = session;

  ssh_server_callbacks_struct callbacks{};
  callbacks.userdata = &state;
  if (options.password) callbacks.auth_password_function = authPassword;
  if (!authorized_keys.empty()) callbacks.auth_pubkey_function = authPublicKey;
  callbacks.channel_open_request_session_function = openSessionChannel;
  ssh_callbacks_init(&callbacks);
  ssh_set_server_callbacks(session, &callbacks);
  int methods = 0;
  if (options.password) methods |= SSH_AUTH_METHOD_PASSWORD;
  if (!authorized_keys.empty()) methods |= SSH_AUTH_METHOD_PUBLICKEY;
  ssh_set_auth_methods(session, methods);
  long timeout_seconds = static_cast<long>(options.login_timeout.count());
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout_seconds);

  bool drop = false;
  if (ssh_handle_key_exchange(session) != SSH_OK) {
    spdlog::info("key exchange failed: {}", ssh_get_error(session));
    ssh_disconnect(session);
    ssh_free(session);
    return;
  }
  ssh_event event = ssh_event_new();
  ssh_event_add_session(event, session);
  const Clock::time_point login_deadline = Clock::now() + options.login_timeout;
  state.last_activity = Clock::now();

  while (!stopping.load()) {
    if (ssh_event_dopoll(event, kPollMillis) == SSH_ERROR) break;
    if ((ssh_get_status(session) & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0) break;
    if (!state.authenticated &&
        (Clock::now() > login_deadline || state.failed_logins >= kMaxFailedLogins)) {
      spdlog::info("closing a connection that did not log in");
      break;
    }
    for (ChannelState& channel : state.channels) {
      if (channel.refused && !channel.finished) {
        ssh_channel_send_eof(channel.channel);
        ssh_channel_close(channel.channel);
        channel.finished = true;
      }
      if (!channel.pending_command) continue;
      const std::string command = std::move(*channel.pending_command);
      channel.pending_command.reset();
      const int width =
          channel.terminal_width > 0 ? channel.terminal_width : options.terminal_width;
      spdlog::debug("exec: {}", command);
      command_log.write(state.login_method, command);
      const CommandOutcome outcome = processor.execute(command, width);
      state.last_activity = Clock::now();
      if (outcome.drop_connection) {
        spdlog::info("fault injection: dropping the connection {} `{}`",
                     outcome.ran_before_drop ? "instead of the reply to" : "before", command);
        drop = true;
        break;
      }
      if (!writeAll(channel.channel, outcome.output)) break;
      ssh_channel_request_send_exit_status(channel.channel, outcome.exit_status);
      ssh_channel_send_eof(channel.channel);
      ssh_channel_close(channel.channel);
      channel.finished = true;
    }
    if (drop) break;
    // A channel is done once both sides closed it; a pooled connection opens many.
    for (auto it = state.channels.begin(); it != state.channels.end();) {
      if (it->finished && (it->peer_closed || !ssh_channel_is_open(it->channel))) {
        freeChannel(*it);
        it = state.channels.erase(it);
      } else {
        ++it;
      }
    }
    const bool busy = std::any_of(state.channels.begin(), state.channels.end(),
                                  [](const ChannelState& c) { return !c.finished; });
    if (!busy && Clock::now() - state.last_activity > options.idle_timeout) {
      spdlog::info("closing an idle connection");
      break;
    }
  }

  ssh_event_remove_session(event, session);
  ssh_event_free(event);
  // Channels go before the disconnect, which frees whatever channels are left.
  for (ChannelState& channel : state.channels) {
    if (drop) {
      ssh_remove_channel_callbacks(channel.channel, &channel.callbacks);
    } else {
      freeChannel(channel);
    }
  }
  if (drop) {
    // An abrupt close, as a network failure would look: no SSH disconnect message.
    ssh_silent_disconnect(session);
  } else {
    ssh_disconnect(session);
  }
  ssh_free(session);
}

}  // namespace

SshServer::SshServer(SshServerOptions options, CommandProcessor& processor)
    : options_(std::move(options)), processor_(processor), impl_(std::make_unique<Impl>()) {
  if (!options_.password && !options_.authorized_keys) {
    throw std::invalid_argument("configure a password, authorized keys, or both");
  }
}

SshServer::~SshServer() {
  stop();
  reapWorkers(true);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::uint16_t SshServer::start() {
  ensureHostKey(options_.host_key);
  if (options_.command_log) {
    impl_->command_log.out.open(*options_.command_log, std::ios::app);
    if (!impl_->command_log.out) {
      throw std::runtime_error("cannot open the command log " + options_.command_log->string());
    }
  }
  if (options_.authorized_keys)
    impl_->authorized_keys = loadAuthorizedKeys(*options_.authorized_keys);

  impl_->bind = ssh_bind_new();
  if (impl_->bind == nullptr) throw std::runtime_error("ssh_bind_new failed");
  ssh_key host_key = nullptr;
  if (ssh_pki_import_privkey_file(options_.host_key.c_str(), nullptr, nullptr, nullptr,
                                  &host_key) != SSH_OK) {
    throw std::runtime_error("cannot load host key " + options_.host_key.string());
  }
  // The bind takes ownership of the imported key.
  if (ssh_bind_options_set(impl_->bind, SSH_BIND_OPTIONS_IMPORT_KEY, host_key) != SSH_OK) {
    ssh_key_free(host_key);
    throw std::runtime_error("cannot use host key " + options_.host_key.string());
  }

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(options_.port);
  if (::inet_pton(AF_INET, options_.listen_address.c_str(), &address.sin_addr) != 1) {
    throw std::runtime_error("listen address is not an IPv4 address: " + options_.listen_address);
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("cannot listen on " + options_.listen_address + ":" +
                             std::to_string(options_.port) + ": " + std::strerror(errno));
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

void SshServer::run() {
  if (listen_fd_ < 0) throw std::logic_error("SshServer::run before start");
  while (!stopping_.load()) {
    reapWorkers(false);
    pollfd poll_fd{listen_fd_, POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, kPollMillis);
    if (ready <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    // Replies go out as several small SSH packets; without this, Nagle holds each later one
    // back for the client's delayed ACK (40 ms a command on Linux).
    const int no_delay = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &no_delay, sizeof(no_delay));
    if (active_sessions_.load() >= options_.max_sessions) {
      spdlog::warn("refusing a connection: {} sessions already open", options_.max_sessions);
      ::close(client);
      continue;
    }
    ssh_session session = ssh_new();
    if (session == nullptr || ssh_bind_accept_fd(impl_->bind, session, client) != SSH_OK) {
      spdlog::warn("cannot accept an SSH connection: {}",
                   session ? ssh_get_error(session) : "out of memory");
      // Once handed to ssh_bind_accept_fd the socket belongs to the session.
      if (session != nullptr) {
        ssh_free(session);
      } else {
        ::close(client);
      }
      continue;
    }
    ++active_sessions_;
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back(Worker{std::thread([this, session, done] {
                                serveConnection(session, options_, impl_->authorized_keys,
                                                processor_, impl_->command_log, stopping_);
                                --active_sessions_;
                                done->store(true);
                              }),
                              done});
  }
  reapWorkers(true);
}

void SshServer::stop() { stopping_.store(true); }

void SshServer::reapWorkers(bool all) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (all || it->done->load()) {
      if (it->thread.joinable()) it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace rds_sim
