# Release builds (no sanitizer): every function and object in its own section, sections no one
# references dropped at link time, and no DT_NEEDED entry for a library nothing uses. A driver
# process maps its executable and each needed library, and relocating and initialising them
# touches pages that then stay resident for the life of the process (bench/README.md, resident
# memory). Sanitizer builds keep the toolchain's defaults: the sanitizer runtimes rely on
# symbols that no object file references.
if(POLYCSI_SANITIZE)
  return()
endif()
if(NOT CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$")
  return()
endif()
add_compile_options(-ffunction-sections -fdata-sections)
add_link_options(LINKER:-O1 LINKER:--gc-sections LINKER:--as-needed)
