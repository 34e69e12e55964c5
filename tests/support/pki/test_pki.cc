#include "test_pki.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

extern char** environ;

namespace polycsi::testing {
namespace {

void makeCa(const std::filesystem::path& cert, const std::filesystem::path& key,
            const std::string& name) {
  runOpenssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", key.string(), "-out", cert.string(), "-days", "2", "-subj", "/CN=" + name,
              "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
              "keyUsage=critical,keyCertSign,cRLSign"});
}

}  // namespace

void runOpenssl(const std::vector<std::string>& args) {
  // The output goes to an unlinked temporary file: no pipe to drain while waiting.
  std::unique_ptr<FILE, int (*)(FILE*)> output(std::tmpfile(), &std::fclose);
  if (!output) throw std::runtime_error("openssl: cannot create a temporary file");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fileno(output.get()), 1);
  posix_spawn_file_actions_adddup2(&actions, fileno(output.get()), 2);
  std::vector<char*> argv = {const_cast<char*>("openssl")};
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    throw std::runtime_error("cannot start openssl (package openssl): error " +
                             std::to_string(spawned));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::rewind(output.get());
    std::string text;
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, output.get())) > 0) text.append(buffer, n);
    throw std::runtime_error("openssl " + args.front() + " failed:\n" + text);
  }
}

TestPki makeTestPki(const std::filesystem::path& directory) {
  TestPki pki;
  pki.ca_cert = directory / "ca.pem";
  pki.ca_key = directory / "ca-key.pem";
  pki.other_ca_cert = directory / "other-ca.pem";
  pki.server_cert = directory / "server.pem";
  pki.server_key = directory / "server-key.pem";
  makeCa(pki.ca_cert, pki.ca_key, "polycsi test CA");
  makeCa(pki.other_ca_cert, directory / "other-ca-key.pem", "unrelated test CA");

  const std::filesystem::path request = directory / "server.csr";
  runOpenssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", pki.server_key.string(), "-out", request.string(), "-subj",
              "/CN=127.0.0.1"});
  const std::filesystem::path extensions = directory / "server.ext";
  std::ofstream(extensions) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "basicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n";
  runOpenssl({"x509", "-req", "-in", request.string(), "-CA", pki.ca_cert.string(), "-CAkey",
              pki.ca_key.string(), "-CAcreateserial", "-out", pki.server_cert.string(), "-days",
              "2", "-extfile", extensions.string()});
  return pki;
}

}  // namespace polycsi::testing
