# `cmake --install` of the whole project (component "runtime"; the plugin SDK is component
# "sdk", see sdk/CMakeLists.txt):
#   <prefix>/lib/polycsi/bin/polycsi      the driver
#   <prefix>/lib/polycsi/plugins/*.so     the in-tree plugins (polycsi_add_plugin)
#   <prefix>/lib/polycsi/lib/*.so         what the driver loads on demand (core/http, core/attach)
#   <prefix>/bin/polycsi                  symlink to the driver
#   <prefix>/bin/polycsictl               the CSI client
# The driver finds its plugins in ../plugins beside its real path (/proc/self/exe resolves the
# symlink), so an installed polycsi needs no plugin_dir setting. Third-party plugins go into
# the same directory, or into one named by plugin_dir / --plugin-dir.
if(TARGET polycsi)
  install(TARGETS polycsi RUNTIME DESTINATION ${POLYCSI_INSTALL_PKGLIBDIR}/bin COMPONENT runtime)
  file(RELATIVE_PATH _polycsi_link_target /prefix/${CMAKE_INSTALL_BINDIR}
       /prefix/${POLYCSI_INSTALL_PKGLIBDIR}/bin/polycsi)
  install(CODE "
    set(_bindir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    file(MAKE_DIRECTORY \"\${_bindir}\")
    message(STATUS \"Installing: \${_bindir}/polycsi -> ${_polycsi_link_target}\")
    file(CREATE_LINK \"${_polycsi_link_target}\" \"\${_bindir}/polycsi\" SYMBOLIC)
  " COMPONENT runtime)
endif()
if(TARGET polycsictl)
  install(TARGETS polycsictl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()
