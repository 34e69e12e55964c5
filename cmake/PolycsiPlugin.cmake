# polycsi_add_plugin(NAME src...): a plugin as a MODULE library named polycsi_<NAME>.so in
# build/plugins/, built with hidden visibility so it exports only polycsi_plugin_entry.
# Plugins link the SDK only, never the core.
function(polycsi_add_plugin name)
  set(target polycsi_plugin_${name})
  add_library(${target} MODULE ${ARGN})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "polycsi_${name}"
    LIBRARY_OUTPUT_DIRECTORY ${POLYCSI_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${target} PRIVATE polycsi::sdk polycsi_warnings)
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
endfunction()
