#include "driver_launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "csi_connection.hpp"

namespace polycsi::bench {
namespace {

std::string logTail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

}  // namespace

DriverLauncher::DriverLauncher(DriverCommand command) : command_(std::move(command)) {}

DriverLauncher::~DriverLauncher() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::chrono::duration<double, std::milli> DriverLauncher::start(std::chrono::seconds limit) {
  if (pid_ > 0) throw std::logic_error("the driver is already running");
  ::unlink(command_.socket.c_str());
  std::vector<std::string> argv = {
      command_.binary, "serve",     "--config",       command_.config, "--endpoint",
      endpoint(),      "--node-id", command_.node_id, "--plugin-dir",  command_.plugin_dir};
  argv.insert(argv.end(), command_.extra_args.begin(), command_.extra_args.end());
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);

  const auto began = std::chrono::steady_clock::now();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(command_.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    _exit(127);
  }
  // Wait for the socket to appear, then one Probe that waits for the server to be ready.
  const auto deadline = began + limit;
  struct stat info {};
  while (::stat(command_.socket.c_str(), &info) != 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("polycsi exited during start-up:\n" + logTail(command_.log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("polycsi created no socket in time:\n" + logTail(command_.log));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  csictl::CsiConnection connection(endpoint(), std::chrono::seconds(10));
  while (true) {
    auto context = connection.newCallContext();
    context->set_wait_for_ready(true);
    csi::v1::ProbeResponse response;
    const grpc::Status status =
        connection.identity().Probe(context.get(), csi::v1::ProbeRequest(), &response);
    if (status.ok() && (!response.has_ready() || response.ready().value())) break;
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("polycsi did not answer Probe ready in time (" +
                               status.error_message() + "):\n" + logTail(command_.log));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return std::chrono::steady_clock::now() - began;
}

void DriverLauncher::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 2000; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace polycsi::bench
