# POLYCSI_SANITIZE="address;undefined" or "thread": instruments every target, plugins included.
#
# With clang the ASan/UBSan runtime is linked as a shared library (-shared-libsan), the way gcc
# links it by default: plugins are MODULE libraries linked with --no-undefined, and an
# instrumented .so refers to the runtime, so the runtime must be a library it can link
# against. The executables find it through an rpath to clang's runtime directory. (Fuzz
# targets link it statically, see Fuzzing.cmake: libFuzzer needs the runtime first.) The TSan
# runtime is linked statically instead (below).
#
# UBSan findings abort (-fno-sanitize-recover=all) so that a test with undefined behaviour
# fails instead of printing a line nobody reads. Run time options (stack traces, the leak
# suppressions for third-party libraries) come from scripts/test.sh; docs/testing.md lists them.
if(NOT POLYCSI_SANITIZE)
  return()
endif()

set(_polycsi_known_sanitizers address undefined thread)
foreach(_polycsi_sanitizer IN LISTS POLYCSI_SANITIZE)
  if(NOT _polycsi_sanitizer IN_LIST _polycsi_known_sanitizers)
    message(FATAL_ERROR "POLYCSI_SANITIZE: unknown sanitizer '${_polycsi_sanitizer}' "
                        "(use 'address;undefined' or 'thread')")
  endif()
endforeach()
if("thread" IN_LIST POLYCSI_SANITIZE AND "address" IN_LIST POLYCSI_SANITIZE)
  message(FATAL_ERROR "POLYCSI_SANITIZE: 'thread' and 'address' cannot be combined; build "
                      "them in two build directories")
endif()

string(REPLACE ";" "," _polycsi_san "${POLYCSI_SANITIZE}")
add_compile_options(-fsanitize=${_polycsi_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
add_link_options(-fsanitize=${_polycsi_san})
# libstdc++'s own checks (operator[] bounds, empty front()/back(), ...) catch what ASan cannot
# see inside a container's capacity. They change no ABI.
add_compile_definitions(_GLIBCXX_ASSERTIONS)
# -O1 keeps instrumented code fast enough for the integration tests and builds faster than -O2;
# line tables are all a sanitizer report needs and keep the build small. Given after the build
# type's flags, so they override -O2 -g of RelWithDebInfo.
if(CMAKE_BUILD_TYPE STREQUAL "RelWithDebInfo" OR CMAKE_BUILD_TYPE STREQUAL "Release")
  add_compile_options(-O1)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_compile_options(-gline-tables-only)
  endif()
endif()

if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} --print-runtime-dir
                  OUTPUT_VARIABLE POLYCSI_SANITIZER_RUNTIME_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _polycsi_rc)
  if(NOT _polycsi_rc EQUAL 0 OR NOT IS_DIRECTORY "${POLYCSI_SANITIZER_RUNTIME_DIR}")
    message(FATAL_ERROR "POLYCSI_SANITIZE: '${CMAKE_CXX_COMPILER} --print-runtime-dir' gave no "
                        "directory ('${POLYCSI_SANITIZER_RUNTIME_DIR}'); install libclang-rt-14-dev")
  endif()
  if("thread" IN_LIST POLYCSI_SANITIZE)
    set(_polycsi_runtime libclang_rt.tsan-x86_64.so)
  elseif("address" IN_LIST POLYCSI_SANITIZE)
    set(_polycsi_runtime libclang_rt.asan-x86_64.so)
  else()
    set(_polycsi_runtime libclang_rt.ubsan_standalone-x86_64.so)
  endif()
  if(NOT EXISTS "${POLYCSI_SANITIZER_RUNTIME_DIR}/${_polycsi_runtime}")
    message(FATAL_ERROR "POLYCSI_SANITIZE: ${_polycsi_runtime} is missing from "
                        "${POLYCSI_SANITIZER_RUNTIME_DIR}; install libclang-rt-14-dev")
  endif()
  if("thread" IN_LIST POLYCSI_SANITIZE)
    # clang 14's shared TSan runtime cannot start a program on Debian 12: libstdc++'s
    # initialisation calls the runtime's __cxa_atexit interceptor before the runtime has
    # initialised, and even an empty program crashes. The runtime is linked statically into the
    # executables, which export its symbols to what they dlopen; plugins are linked without
    # --no-undefined so that they may leave those symbols to the executable.
    set(POLYCSI_PLUGIN_ALLOW_UNDEFINED ON CACHE INTERNAL "plugins resolve sanitizer symbols at load")
  else()
    set(POLYCSI_PLUGIN_ALLOW_UNDEFINED OFF CACHE INTERNAL "plugins resolve sanitizer symbols at load")
    add_link_options(-shared-libsan "LINKER:-rpath,${POLYCSI_SANITIZER_RUNTIME_DIR}")
  endif()
endif()
message(STATUS "polycsi: sanitizers ${_polycsi_san} (${CMAKE_CXX_COMPILER_ID})")
