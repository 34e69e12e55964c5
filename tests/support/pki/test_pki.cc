#include "test_pki.hpp"

#include <fstream>
#include <stdexcept>

#include "child_process.hpp"

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
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions options;
  options.mergeStderr = true;
  CommandResult result;
  try {
    result = runCommand(argv, options);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("cannot start openssl (package openssl): ") + e.what());
  }
  if (result.timedOut || result.exitStatus != 0)
    throw std::runtime_error("openssl " + args.front() + " failed:\n" + result.output);
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
