#include "test_pki.hpp"

#include <fstream>
#include <stdexcept>

#include "command_runner.hpp"

namespace powerstore_sim::testing {
namespace {

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult result = runCommand(argv, std::chrono::seconds(60));
  if (result.exit_code != 0) {
    throw std::runtime_error("openssl " + args.front() + " failed: " + result.output);
  }
}

void makeCa(const std::filesystem::path& cert, const std::filesystem::path& key,
            const std::string& name) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", key.string(), "-out", cert.string(), "-days", "2", "-subj", "/CN=" + name,
           "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});
}

}  // namespace

TestPki makeTestPki(const std::filesystem::path& directory) {
  TestPki pki;
  pki.ca_cert = directory / "ca.pem";
  pki.other_ca_cert = directory / "other-ca.pem";
  pki.server_cert = directory / "server.pem";
  pki.server_key = directory / "server-key.pem";
  const std::filesystem::path ca_key = directory / "ca-key.pem";
  makeCa(pki.ca_cert, ca_key, "powerstore-sim test CA");
  makeCa(pki.other_ca_cert, directory / "other-ca-key.pem", "unrelated test CA");

  const std::filesystem::path request = directory / "server.csr";
  openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           pki.server_key.string(), "-out", request.string(), "-subj", "/CN=127.0.0.1"});
  const std::filesystem::path extensions = directory / "server.ext";
  std::ofstream(extensions) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "basicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n";
  openssl({"x509", "-req", "-in", request.string(), "-CA", pki.ca_cert.string(), "-CAkey",
           ca_key.string(), "-CAcreateserial", "-out", pki.server_cert.string(), "-days", "2",
           "-extfile", extensions.string()});
  return pki;
}

}  // namespace powerstore_sim::testing
