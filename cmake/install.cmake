# Install rules and the exported CMake package, so that another project can
#   find_package(anysock)  +  target_link_libraries(app PRIVATE anysock::anysock)
# Components: "development" (static libraries, headers, package files) and
# "runtime" (the tool, the systemd unit; see tools/anysock and packaging/).
include(CMakePackageConfigHelpers)

set(ANYSOCK_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/anysock
    CACHE STRING "Where anysockConfig.cmake goes, relative to the prefix")

# anysock::anysock = core + every transport this build has (+ the generated
# add_builtin_transports), which is what a program usually wants.
add_library(anysock_anysock INTERFACE)
add_library(anysock::anysock ALIAS anysock_anysock)
target_link_libraries(anysock_anysock INTERFACE anysock_transports)

# Exported names: anysock::core, anysock::<transport>, anysock::transports.
set_target_properties(anysock_core PROPERTIES EXPORT_NAME core)
set_target_properties(anysock_transports PROPERTIES EXPORT_NAME transports)
set_target_properties(anysock_anysock PROPERTIES EXPORT_NAME anysock)
set(_anysock_exported anysock_core anysock_transports anysock_anysock)
foreach(t IN LISTS ANYSOCK_TRANSPORTS)
  set_target_properties(anysock_${t} PROPERTIES EXPORT_NAME ${t})
  list(APPEND _anysock_exported anysock_${t})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/transports/${t}/include/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)
endforeach()

install(TARGETS ${_anysock_exported} EXPORT anysockTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
# core's headers and the one that declares the generated add_builtin_transports.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/core/include/ ${PROJECT_SOURCE_DIR}/cmake/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)
install(EXPORT anysockTargets NAMESPACE anysock:: DESTINATION ${ANYSOCK_INSTALL_CMAKEDIR}
        COMPONENT development)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/anysockConfig.cmake.in
  ${PROJECT_BINARY_DIR}/anysockConfig.cmake INSTALL_DESTINATION ${ANYSOCK_INSTALL_CMAKEDIR})
# 0.x: a minor release may change the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/anysockConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/anysockConfig.cmake ${PROJECT_BINARY_DIR}/anysockConfigVersion.cmake
        DESTINATION ${ANYSOCK_INSTALL_CMAKEDIR} COMPONENT development)
