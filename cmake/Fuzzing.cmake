# libFuzzer targets (tests/fuzz). They need clang and its runtime (Debian: clang-14 and
# libclang-rt-14-dev) and are built, by default, whenever the compiler is clang and the build
# is not a TSan build (libFuzzer does not run under TSan). With gcc, POLYCSI_FUZZ is OFF and
# configure says so; asking for it with gcc is an error.
#
# polycsi_add_fuzzer(<name> SOURCES <file>... [DEPS <target>...] [INCLUDES <dir>...]
#                    [MAX_LEN <bytes>])
#   Builds the executable <name> from its harness and the sources under test, all compiled
#   with -fsanitize=fuzzer so that libFuzzer sees their coverage (the core's libraries are
#   compiled without it, so the sources are compiled again here), and registers two tests:
#     fuzz_<name>        label "fuzz": every seed in tests/fuzz/corpus/<name>/ plus
#                        POLYCSI_FUZZ_SHORT_SECONDS of fuzzing; part of the default suite
#     fuzz_long_<name>   label "fuzz-long": POLYCSI_FUZZ_LONG_SECONDS (environment variable
#                        at run time, default 600) on a corpus kept in the build directory;
#                        excluded from the default suite (./scripts/test.sh --fuzz-long)
#   Crash inputs go to <build>/fuzz/artifacts/<name>/.
include_guard(GLOBAL)

set(_polycsi_fuzz_default OFF)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND NOT "thread" IN_LIST POLYCSI_SANITIZE)
  set(_polycsi_fuzz_default ON)
endif()
option(POLYCSI_FUZZ "Build the libFuzzer targets and their tests (needs clang)"
       ${_polycsi_fuzz_default})
set(POLYCSI_FUZZ_SHORT_SECONDS 10 CACHE STRING
    "Seconds each fuzz target runs in the default test suite (after its seeds)")

if(POLYCSI_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "POLYCSI_FUZZ=ON needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}; "
                        "configure with CXX=clang++-14 or -DPOLYCSI_FUZZ=OFF")
  endif()
  if("thread" IN_LIST POLYCSI_SANITIZE)
    message(FATAL_ERROR "POLYCSI_FUZZ=ON cannot be combined with POLYCSI_SANITIZE=thread")
  endif()
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} --print-runtime-dir
                  OUTPUT_VARIABLE _polycsi_runtime_dir OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT EXISTS "${_polycsi_runtime_dir}/libclang_rt.fuzzer-x86_64.a")
    message(FATAL_ERROR "POLYCSI_FUZZ: libFuzzer (libclang_rt.fuzzer-x86_64.a) is missing from "
                        "'${_polycsi_runtime_dir}'; install libclang-rt-14-dev")
  endif()
  message(STATUS "polycsi: fuzz targets on (${POLYCSI_FUZZ_SHORT_SECONDS}s each in the default tests)")
else()
  message(STATUS "polycsi: fuzz targets off (POLYCSI_FUZZ=OFF; they need clang and a build "
                 "without TSan; this is ${CMAKE_CXX_COMPILER_ID}, sanitizers '${POLYCSI_SANITIZE}')")
endif()

set(POLYCSI_FUZZ_RUNNER ${CMAKE_CURRENT_LIST_DIR}/../tests/fuzz/run_fuzzer.sh)

function(polycsi_add_fuzzer name)
  cmake_parse_arguments(ARG "" "MAX_LEN" "SOURCES;DEPS;INCLUDES" ${ARGN})
  if(NOT POLYCSI_FUZZ)
    return()
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "polycsi_add_fuzzer(${name}): no SOURCES")
  endif()
  if(NOT ARG_MAX_LEN)
    set(ARG_MAX_LEN 4096)
  endif()
  set(seeds ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
  if(NOT IS_DIRECTORY ${seeds})
    message(FATAL_ERROR "polycsi_add_fuzzer(${name}): seed corpus ${seeds} is missing")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${ARG_INCLUDES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} polycsi_warnings)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  # libFuzzer must come before a shared sanitizer runtime, which it cannot with
  # -shared-libsan (see Sanitizers.cmake): fuzz targets load no plugins, so they link it
  # statically.
  target_link_options(${name} PRIVATE -fsanitize=fuzzer -static-libsan)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz/bin)

  set(work ${CMAKE_BINARY_DIR}/fuzz)
  add_test(NAME fuzz_${name}
           COMMAND bash ${POLYCSI_FUZZ_RUNNER} short $<TARGET_FILE:${name}> ${seeds} ${work}
                   ${ARG_MAX_LEN} ${POLYCSI_FUZZ_SHORT_SECONDS})
  # Slack for the seeds and for a loaded machine; the runner bounds the fuzzing itself.
  math(EXPR timeout "${POLYCSI_FUZZ_SHORT_SECONDS} * 4 + 120")
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT ${timeout})
  add_test(NAME fuzz_long_${name}
           COMMAND bash ${POLYCSI_FUZZ_RUNNER} long $<TARGET_FILE:${name}> ${seeds} ${work}
                   ${ARG_MAX_LEN})
  # The runner bounds the run itself; this only catches a hang of the runner.
  set_tests_properties(fuzz_long_${name} PROPERTIES LABELS fuzz-long TIMEOUT 86400)
endfunction()
