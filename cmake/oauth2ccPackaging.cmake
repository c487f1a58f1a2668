# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# oauth2ccPackaging.cmake: Debian packages of the install, by CPack (`cpack -G DEB` in the
# build tree; tools/run-tests builds, installs and tries them):
#   liboauth2cc-dev  the headers, the compiled library (oauth2cc::compiled), the CMake
#                    package and the pkg-config files; it depends on the Debian packages
#                    of cpp-httplib, nlohmann/json and OpenSSL that the headers include;
#   oauth2cc-cli     the command-line client, its man page and its bash completion, and
#                    oauth2cc-agent with its man page and systemd unit.
# Both install under /usr whatever CMAKE_INSTALL_PREFIX says; the .pc files and the CMake
# package find their files relative to themselves.
# SPDX-License-Identifier: MIT

install(FILES "${PROJECT_SOURCE_DIR}/LICENSE"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/liboauth2cc-dev" RENAME copyright COMPONENT dev)
install(FILES "${PROJECT_SOURCE_DIR}/CHANGELOG.md"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/liboauth2cc-dev" COMPONENT dev)
if(OAUTH2CC_BUILD_EXAMPLES)
  install(FILES "${PROJECT_SOURCE_DIR}/LICENSE"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/oauth2cc-cli" RENAME copyright COMPONENT cli)
endif()

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "oauth2cc")
set(CPACK_PACKAGE_VENDOR "oauth2cc")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
# Empty: each package's own description gives its synopsis line.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")
set(CPACK_DEB_COMPONENT_INSTALL ON)
if(OAUTH2CC_BUILD_EXAMPLES)
  set(CPACK_COMPONENTS_ALL dev cli)
else()
  set(CPACK_COMPONENTS_ALL dev)
endif()

set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "oauth2cc developers")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_RELEASE "1")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME "liboauth2cc-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION "libdevel")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libcpp-httplib-dev, nlohmann-json3-dev, libssl-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "libhiredis-dev")
# Each description: the synopsis line, then the long description.
set(CPACK_DEBIAN_DEV_DESCRIPTION
  "OAuth 2.0 client-credentials tokens for C++17 machine clients (headers)
oauth2cc gets a machine client an OAuth 2.0 access token by the client-credentials
grant, keeps it fresh, and puts it on the client's outgoing requests: secrets,
signed JWTs or client certificates; Bearer or DPoP; tokens shared by processes.
This package holds the header-only library, its compiled mode, the CMake package
(find_package(oauth2cc)) and the pkg-config files oauth2cc and oauth2cc-compiled.")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME "oauth2cc-cli")
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_CLI_DESCRIPTION
  "OAuth 2.0 client-credentials tokens and authorized calls from the shell
oauth2cc-cli requests a token by the client-credentials grant and prints it, or calls
an API with it, for scripts and crontabs: every client authentication method, DPoP,
proxies, and a token cache shared by runs (a directory, or Redis). It also holds
oauth2cc-agent, the same library as a local service that holds a host's client
credentials and hands tokens to its processes and to nginx or HAProxy, with its
systemd unit.")
# The system user oauth2cc-agent.service runs as.
set(CPACK_DEBIAN_CLI_PACKAGE_CONTROL_EXTRA "${CMAKE_CURRENT_LIST_DIR}/deb-cli/postinst")
set(CPACK_DEBIAN_CLI_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
