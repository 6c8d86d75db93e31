# `cpack -G DEB` in the build folder builds mailgate_VERSION_ARCH.deb from the install rules:
# /usr/bin/mailgate, /usr/lib/mailgate/plugins, the SDK headers and CMake package,
# /etc/mailgate/mailgate.yaml (a conffile), examples and docs in /usr/share/doc/mailgate and
# the systemd unit. Its postinst creates the `mailgate` system user and /var/lib/mailgate.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mailgate)
set(CPACK_PACKAGE_VENDOR "mailgate")
set(CPACK_PACKAGE_CONTACT "mailgate maintainers <postmaster@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SMTP gateway with filter plugins in front of a mail server")
set(CPACK_PACKAGE_DESCRIPTION
  "mailgate takes SMTP from clients, runs every connection, command and message through a\n\
chain of filter plugins and relays what survives to a backend MTA in the same session.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)  # the debug info stays in the build folder
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/cmake/debian/postinst
  ${CMAKE_SOURCE_DIR}/cmake/debian/prerm
  ${CMAKE_SOURCE_DIR}/cmake/debian/postrm
  ${CMAKE_SOURCE_DIR}/cmake/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
