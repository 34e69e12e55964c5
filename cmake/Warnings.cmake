# Project-wide warning flags: applied to our own targets through polycsi_warnings().
add_library(polycsi_warnings INTERFACE)
target_compile_options(polycsi_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(POLYCSI_WERROR)
  target_compile_options(polycsi_warnings INTERFACE -Werror)
endif()
