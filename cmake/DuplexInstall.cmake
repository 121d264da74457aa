# Installs the library, its headers, an exported CMake package (Duplex::duplex) and duplex.pc.
include(CMakePackageConfigHelpers)

install(TARGETS duplex EXPORT DuplexTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/duplex DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES cmake/FindCAF.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Duplex)
install(EXPORT DuplexTargets NAMESPACE Duplex:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Duplex)

configure_package_config_file(cmake/DuplexConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/DuplexConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Duplex)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/DuplexConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/DuplexConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/DuplexConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Duplex)

configure_file(cmake/duplex.pc.in ${CMAKE_CURRENT_BINARY_DIR}/duplex.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/duplex.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
