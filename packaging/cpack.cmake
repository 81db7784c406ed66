# cpack -G DEB (in the build tree): two Debian packages from the install
# components, the way Debian splits them:
#   anysock      the tool + systemd unit ("runtime")
#   anysock-dev  static libraries, headers, find_package files ("development")
# Runtime dependencies come from dpkg-shlibdeps (package dpkg-dev), so they
# follow whatever the binary really links (libspdlog, libfmt, libstdc++...;
# libasan/libubsan in a sanitizer build).
set(ANYSOCK_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING
    "Where anysock@.service goes, relative to the prefix (/usr in the .deb)")
install(FILES ${CMAKE_CURRENT_LIST_DIR}/systemd/anysock@.service
        DESTINATION ${ANYSOCK_SYSTEMD_UNIT_DIR} COMPONENT runtime)
# An example, not a conffile in /etc: a relative install path cannot reach
# /etc from prefix /usr, and an instance is opt-in anyway (README).
install(FILES ${CMAKE_CURRENT_LIST_DIR}/systemd/default.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
# The how-tos the README links to (docs/...), so its links work where it is installed.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)

set(ANYSOCK_PACKAGE_MAINTAINER "anysock maintainers <anysock@localhost>" CACHE STRING
    "Maintainer field of the .deb packages")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME anysock)
set(CPACK_PACKAGE_CONTACT "${ANYSOCK_PACKAGE_MAINTAINER}")
# The synopsis line (CPack uses one for both packages), then each package's
# long description.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "echo service and client over every socket family")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "One transport-agnostic echo endpoint, addressed by URI: IPv6 TCP now,
Bluetooth RFCOMM and SocketCAN next. anysock serve echoes every message
back; anysock send checks the echo byte for byte. Includes the systemd
unit anysock@.service.")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION "Static libraries and headers of anysock: the transport-agnostic
link concept, echo, server and client check, and the TCP transport, with
a CMake package: find_package(anysock), then link anysock::anysock.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # anysock_0.1.0-1_amd64.deb
set(CPACK_STRIP_FILES ON)                # the RelWithDebInfo symbols stay in the build tree

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME anysock)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME anysock-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# Static libraries: nothing for shlibdeps to see, the -dev packages the
# headers need are named by hand (the same ones scripts/install-deps.sh uses).
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "libboost1.81-dev, libfmt-dev, libspdlog-dev, libbluetooth-dev")
include(CPack)
