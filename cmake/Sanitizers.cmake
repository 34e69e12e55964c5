# POLYCSI_SANITIZE="address;undefined" or "thread": instruments every target.
if(POLYCSI_SANITIZE)
  string(REPLACE ";" "," _polycsi_san "${POLYCSI_SANITIZE}")
  add_compile_options(-fsanitize=${_polycsi_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_polycsi_san})
endif()
