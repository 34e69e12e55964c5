# Project-wide warning flags: applied to our own targets through polycsi_warnings().
add_library(polycsi_warnings INTERFACE)
target_compile_options(polycsi_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(POLYCSI_WERROR)
  target_compile_options(polycsi_warnings INTERFACE -Werror)
endif()

# GCC 12 at -O3 (Release) reports overlaps in std::string concatenation that cannot happen
# (bogus -Wrestrict from its inlined char_traits::copy, GCC bugs 105329 and 105651): with
# -Werror a Release build stops on correct code. Off for GCC 12 only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(polycsi_warnings INTERFACE -Wno-restrict)
endif()
