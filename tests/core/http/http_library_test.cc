// core/http: the module loads and sends plain HTTP (to the driver's own /metrics server); a
// missing file or an object that is not the module is refused with a message naming it.
#include "http/http_library.hpp"

#include <gtest/gtest.h>

#include <string>

#include "observe/http_get_server.hpp"

namespace polycsi::http {
namespace {

TEST(HttpLibraryTest, TheModuleSendsAndReadsTheAnswer) {
  auto library = loadLibrary(POLYCSI_HTTPLIB_MODULE);
  ASSERT_TRUE(library.isOk()) << library.status().toString();
  observe::HttpGetServerOptions options;
  options.host = "127.0.0.1";
  options.routes.push_back({"/answer", [](int& status, std::string& body, std::string& type) {
                              status = 418;
                              body = "forty-two";
                              type = "text/plain";
                            }});
  auto server = observe::HttpGetServer::start(std::move(options), "127.0.0.1:0 for the test");
  ASSERT_TRUE(server.isOk()) << server.status().toString();
  ASSERT_GT((*server)->port(), 0);

  ClientRequest request;
  request.host = "127.0.0.1";
  request.port = (*server)->port();
  request.method = "GET";
  request.path = "/answer";
  std::string body;
  request.onBody = [&body](const char* data, size_t length) {
    body.append(data, length);
    return true;
  };
  ClientResult result = (*library)->send(request);
  ASSERT_TRUE(result.answered) << result.transportError;
  EXPECT_EQ(result.status, 418);
  EXPECT_EQ(body, "forty-two");

  request.path = "/elsewhere";
  body.clear();
  result = (*library)->send(request);
  ASSERT_TRUE(result.answered) << result.transportError;
  EXPECT_EQ(result.status, 404);

  (*server)->stop();
  result = (*library)->send(request);
  EXPECT_FALSE(result.answered);
  EXPECT_EQ(result.transportError, "cannot connect");
}

TEST(HttpLibraryTest, AMissingModuleIsNamed) {
  auto library = loadLibrary("/nonexistent/lib/libpolycsi_httplib.so");
  ASSERT_FALSE(library.isOk());
  EXPECT_EQ(library.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(library.status().message().find(
                "cannot load the HTTP library /nonexistent/lib/libpolycsi_httplib.so"),
            std::string::npos)
      << library.status().message();
}

TEST(HttpLibraryTest, AnObjectThatIsNotTheModuleIsRefused) {
  auto library = loadLibrary(POLYCSI_SAMPLE_PLUGIN);
  ASSERT_FALSE(library.isOk());
  EXPECT_EQ(library.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(library.status().message().find("has no polycsi_httplib_library_v1"), std::string::npos)
      << library.status().message();
}

TEST(HttpLibraryTest, TheModuleIsLookedForInLibBesideTheExecutablesBin) {
  auto path = libraryPath();
  ASSERT_TRUE(path.isOk()) << path.status().toString();
  EXPECT_EQ(*path, std::string(POLYCSI_HTTPLIB_MODULE));
}

}  // namespace
}  // namespace polycsi::http
