# polycsi_sdk_add_plugin(<name> <source>...): builds a polycsi plugin as the MODULE library
# polycsi_<name>.so (CMake target polycsi_plugin_<name>), the file name the polycsi core looks
# for in its plugin directory.
#
# The plugin links the SDK (polycsi::sdk) only, is compiled with hidden visibility and linked
# with plugin_exports.map, so that polycsi_plugin_entry is its only exported symbol: hidden
# visibility alone still exports the standard library's weak template instances, which would
# then be shared between plugins loaded into one process. --no-undefined turns a missing
# definition into a link error instead of a refusal at load time.
#
# Shipped in the installed SDK package (find_package(polycsi-sdk)) and used in-tree by
# polycsi_add_plugin (cmake/PolycsiPlugin.cmake), so both build plugins the same way. Set the
# target's LIBRARY_OUTPUT_DIRECTORY to choose where the .so goes.
include_guard(GLOBAL)
if(CMAKE_VERSION VERSION_LESS 3.17)
  message(FATAL_ERROR "building a polycsi plugin needs CMake 3.17 or newer")
endif()

function(polycsi_sdk_add_plugin name)
  if(NOT name MATCHES "^[a-z0-9_]+$")
    message(FATAL_ERROR "polycsi_sdk_add_plugin: plugin name '${name}' must match [a-z0-9_]+ "
                        "(it is the descriptor's name and part of the file name)")
  endif()
  if(NOT ARGN)
    message(FATAL_ERROR "polycsi_sdk_add_plugin(${name}): no source files given")
  endif()
  if(NOT TARGET polycsi::sdk)
    message(FATAL_ERROR "polycsi_sdk_add_plugin(${name}): target polycsi::sdk is missing; "
                        "call find_package(polycsi-sdk REQUIRED) first")
  endif()
  set(exports_map "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/plugin_exports.map")
  set(target polycsi_plugin_${name})
  add_library(${target} MODULE ${ARGN})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "polycsi_${name}" SUFFIX ".so"
    CXX_VISIBILITY_PRESET hidden C_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${target} PRIVATE polycsi::sdk)
  target_link_options(${target} PRIVATE "-Wl,--version-script=${exports_map}")
  # A ThreadSanitizer build leaves the runtime's symbols to the executable (Sanitizers.cmake).
  if(NOT POLYCSI_PLUGIN_ALLOW_UNDEFINED)
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${exports_map}")
endfunction()
