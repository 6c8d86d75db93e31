# Runs at install time (cmake --install, and CPack when it builds the .deb). Installs the files
# that live outside the prefix on a system install: the config in /etc/mailgate and the
# systemd unit in /lib/systemd/system when the prefix is /usr (the .deb), else both under the
# prefix, with the unit's paths rewritten to match. Set by the caller: MAILGATE_SOURCE_DIR and
# MAILGATE_BINARY_DIR.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(mailgate_etc_dir "/etc/mailgate")
  set(mailgate_unit_dir "/lib/systemd/system")
else()
  set(mailgate_etc_dir "${CMAKE_INSTALL_PREFIX}/etc/mailgate")
  set(mailgate_unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()

# An administrator's edited config is never overwritten by `cmake --install`; a package build
# (DESTDIR set) always takes the sample, and dpkg keeps edits as a conffile.
# The same for spam_score's rules, which the config names by their /etc path.
foreach(pair "mailgate.yaml=config/system/mailgate.yaml"
             "rules/spam_score.yaml=config/rules/spam_score.yaml")
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 target)
  list(GET pair 1 source)
  if(DEFINED ENV{DESTDIR} OR NOT EXISTS "${mailgate_etc_dir}/${target}")
    get_filename_component(target_dir "${mailgate_etc_dir}/${target}" DIRECTORY)
    file(INSTALL DESTINATION "${target_dir}" TYPE FILE FILES "${MAILGATE_SOURCE_DIR}/${source}")
  else()
    message(STATUS "Kept: ${mailgate_etc_dir}/${target} (already there)")
  endif()
endforeach()

file(READ "${MAILGATE_SOURCE_DIR}/config/mailgate.service" unit)
string(REPLACE "/usr/bin/mailgate" "${CMAKE_INSTALL_PREFIX}/bin/mailgate" unit "${unit}")
string(REPLACE "/etc/mailgate/" "${mailgate_etc_dir}/" unit "${unit}")
# Staged per destination: two installs from one build folder at once (tests do) do not mix.
string(MD5 destination "$ENV{DESTDIR}${mailgate_unit_dir}")
set(staged_unit "${MAILGATE_BINARY_DIR}/mailgate-unit/${destination}/mailgate.service")
file(WRITE "${staged_unit}" "${unit}")
file(INSTALL DESTINATION "${mailgate_unit_dir}" TYPE FILE FILES "${staged_unit}")
