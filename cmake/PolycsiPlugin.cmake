# polycsi_add_plugin(NAME src...): an in-tree plugin, built exactly as a third party builds one
# with the installed SDK (polycsi_sdk_add_plugin, cmake/PolycsiPluginModule.cmake): a MODULE
# library named polycsi_<NAME>.so that exports only polycsi_plugin_entry and links the SDK only,
# never the core. In-tree plugins additionally go to build/plugins/, get the project's warning
# flags and are installed (component "runtime") into the installed core's plugin directory.
include(GNUInstallDirs)
include(${CMAKE_CURRENT_LIST_DIR}/PolycsiPluginModule.cmake)

set(POLYCSI_PLUGIN_EXPORTS_MAP ${CMAKE_CURRENT_LIST_DIR}/plugin_exports.map)
# Installed layout (see cmake/PolycsiInstall.cmake): the polycsi executable lives in
# <prefix>/lib/polycsi/bin and finds its plugins in ../plugins, i.e. <prefix>/lib/polycsi/plugins.
set(POLYCSI_INSTALL_PKGLIBDIR ${CMAKE_INSTALL_LIBDIR}/polycsi)
set(POLYCSI_INSTALL_PLUGINDIR ${POLYCSI_INSTALL_PKGLIBDIR}/plugins)

function(polycsi_add_plugin name)
  polycsi_sdk_add_plugin(${name} ${ARGN})
  set(target polycsi_plugin_${name})
  set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${POLYCSI_PLUGIN_OUTPUT_DIR})
  target_link_libraries(${target} PRIVATE polycsi_warnings)
  install(TARGETS ${target} LIBRARY DESTINATION ${POLYCSI_INSTALL_PLUGINDIR} COMPONENT runtime)
endfunction()
