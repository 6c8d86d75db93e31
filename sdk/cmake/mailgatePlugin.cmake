# mailgate_add_plugin(<name> <source>...)
#
# Builds a mailgate plugin: a MODULE library named exactly <name>.so (no "lib" prefix) that
# links mailgate::sdk and exports only the entry symbol (hidden visibility; the SDK marks
# mailgate_plugin_entry visible). C++ sources are compiled as C++20, which <mailgate/plugin.hpp>
# needs. Installed with the package only: mailgate's own tree has a function of the same name
# in plugins/CMakeLists.txt, and the two are never visible together.
function(mailgate_add_plugin name)
  if(NOT ARGN)
    message(FATAL_ERROR "mailgate_add_plugin(${name}): no source files given")
  endif()
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE mailgate::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  foreach(source IN LISTS ARGN)
    if(source MATCHES "\\.(cpp|cc|cxx|c\\+\\+|C)$")
      target_compile_features(${name} PRIVATE cxx_std_20)
      break()
    endif()
  endforeach()
endfunction()
