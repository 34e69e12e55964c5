# The third-party dependencies every part of the build shares. All come from Debian packages
# (scripts/install-deps.sh installs them). A dependency only one component uses (libssh,
# libnfs, cpp-httplib, ...) is found by that component's CMakeLists.txt, beside its use.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
find_package(Boost 1.74 REQUIRED COMPONENTS filesystem)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(SQLite3 REQUIRED)
# GoogleTest only when tests are built (BUILD_TESTING from include(CTest)): a build without
# tests does not need the package installed.
if(BUILD_TESTING)
  find_package(GTest REQUIRED)
endif()
