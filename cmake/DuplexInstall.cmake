# Installs the library, its headers, an exported CMake package (Duplex::duplex) and duplex.pc.
#
#   cmake --install <build> [--prefix <dir>]
#
# gives <prefix>/lib/libduplex.so.X.Y.Z (+ SONAME and namelink), <prefix>/include/duplex/*.hpp,
# <prefix>/lib/cmake/Duplex/{DuplexConfig,DuplexConfigVersion,DuplexTargets*,FindCAF}.cmake and
# <prefix>/lib/pkgconfig/duplex.pc. Both package files are relocatable: they locate the tree
# from their own position, so --prefix and DESTDIR work without reconfiguring.
include(CMakePackageConfigHelpers)

set(DUPLEX_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Duplex)

install(TARGETS duplex EXPORT DuplexTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/duplex DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
# The exported target references CAF::core, which Debian's CAF only provides through this module.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake DESTINATION ${DUPLEX_INSTALL_CMAKEDIR})
install(EXPORT DuplexTargets NAMESPACE Duplex:: DESTINATION ${DUPLEX_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/DuplexConfig.cmake.in
  ${PROJECT_BINARY_DIR}/DuplexConfig.cmake
  INSTALL_DESTINATION ${DUPLEX_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/DuplexConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/DuplexConfig.cmake
  ${PROJECT_BINARY_DIR}/DuplexConfigVersion.cmake
  DESTINATION ${DUPLEX_INSTALL_CMAKEDIR})

# ---- duplex.pc ----
# prefix is derived from the .pc file's own location (${pcfiledir}), not from the configure-time
# CMAKE_INSTALL_PREFIX, so `cmake --install --prefix` produces a usable file.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(DUPLEX_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(DUPLEX_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH _duplex_pc_up "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" _duplex_pc_up "${_duplex_pc_up}")
  set(DUPLEX_PC_PREFIX "\${pcfiledir}/${_duplex_pc_up}")
  set(DUPLEX_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(DUPLEX_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(DUPLEX_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()

# The public headers include <caf/...> and <msgpack.hpp>, neither of which ships a .pc file on
# Debian: their include directories (unless the compiler searches them anyway) and libcaf_core
# go into duplex.pc directly. ZeroMQ and spdlog are private to the shared library.
set(DUPLEX_PC_CFLAGS "")
set(_duplex_pc_dirs ${CAF_INCLUDE_DIR} ${MSGPACK_INCLUDE_DIR})
list(REMOVE_DUPLICATES _duplex_pc_dirs)
foreach(_dir IN LISTS _duplex_pc_dirs)
  if(NOT _dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    string(APPEND DUPLEX_PC_CFLAGS " -I${_dir}")
  endif()
endforeach()
get_filename_component(_duplex_caf_libdir "${CAF_CORE_LIBRARY}" DIRECTORY)
if(_duplex_caf_libdir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
  set(DUPLEX_PC_CAF_LIBS "-lcaf_core")
else()
  set(DUPLEX_PC_CAF_LIBS "-L${_duplex_caf_libdir} -lcaf_core")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/duplex.pc.in ${PROJECT_BINARY_DIR}/duplex.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/duplex.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
unset(_duplex_pc_up)
unset(_duplex_pc_dirs)
unset(_duplex_caf_libdir)
