# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# oauth2ccDependencies.cmake: finds the libraries oauth2cc needs, for the build and
# for oauth2ccConfig.cmake alike, so that both resolve them the same way.
# SPDX-License-Identifier: MIT
#
# cpp-httplib is found, in this order, as:
#   1. its CMake config (upstream releases, vcpkg, Conan): target httplib::httplib;
#   2. pkg-config cpp-httplib (Debian's split build: declarations in httplib.h, code in
#      libcpp-httplib.so, and compile flags that every unit must share);
#   3. the bare single header httplib.h on the include path.
# In cases 2 and 3 this file creates httplib::httplib itself, so the rest of the build
# links one name. OAUTH2CC_HTTPLIB_FOUND_BY says which case was taken.
# OAUTH2CC_HTTPLIB_HEADER_DIR, when set, names a directory holding the single header
# httplib.h to use as it is (case 3), before any installed cpp-httplib.

include(CMakeFindDependencyMacro)

macro(_oauth2cc_find_dependency name)
  if(CMAKE_FIND_PACKAGE_NAME)
    find_dependency(${name} ${ARGN})
  else()
    find_package(${name} ${ARGN} REQUIRED)
  endif()
endmacro()

set(THREADS_PREFER_PTHREAD_FLAG ON)
_oauth2cc_find_dependency(Threads)
_oauth2cc_find_dependency(OpenSSL 3.0)
_oauth2cc_find_dependency(nlohmann_json 3.2)

if(OAUTH2CC_HTTPLIB_HEADER_DIR AND NOT TARGET httplib::httplib)
  if(NOT EXISTS "${OAUTH2CC_HTTPLIB_HEADER_DIR}/httplib.h")
    message(FATAL_ERROR "oauth2cc: OAUTH2CC_HTTPLIB_HEADER_DIR holds no httplib.h")
  endif()
  add_library(httplib::httplib INTERFACE IMPORTED GLOBAL)
  set(OAUTH2CC_HTTPLIB_FOUND_BY "header")
  target_include_directories(httplib::httplib INTERFACE "${OAUTH2CC_HTTPLIB_HEADER_DIR}")
  target_link_libraries(httplib::httplib INTERFACE OpenSSL::SSL OpenSSL::Crypto
                        Threads::Threads)
endif()

if(NOT TARGET httplib::httplib)
  find_package(httplib CONFIG QUIET)
endif()

if(TARGET httplib::httplib)
  if(NOT DEFINED OAUTH2CC_HTTPLIB_FOUND_BY)
    set(OAUTH2CC_HTTPLIB_FOUND_BY "cmake")
  endif()
else()
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(OAUTH2CC_HTTPLIB QUIET IMPORTED_TARGET GLOBAL cpp-httplib)
  endif()
  add_library(httplib::httplib INTERFACE IMPORTED GLOBAL)
  if(OAUTH2CC_HTTPLIB_FOUND)
    set(OAUTH2CC_HTTPLIB_FOUND_BY "pkg-config")
    # The imported target carries the library and every -D flag of the .pc file.
    target_link_libraries(httplib::httplib INTERFACE PkgConfig::OAUTH2CC_HTTPLIB
                          Threads::Threads)
  else()
    find_path(OAUTH2CC_HTTPLIB_INCLUDE_DIR httplib.h)
    if(NOT OAUTH2CC_HTTPLIB_INCLUDE_DIR)
      set(_oauth2cc_msg "oauth2cc: cpp-httplib not found (no CMake config, no pkg-config \
cpp-httplib, no httplib.h); install libcpp-httplib-dev or set CMAKE_PREFIX_PATH")
      if(CMAKE_FIND_PACKAGE_NAME)
        set(${CMAKE_FIND_PACKAGE_NAME}_FOUND FALSE)
        set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE "${_oauth2cc_msg}")
        return()
      endif()
      message(FATAL_ERROR "${_oauth2cc_msg}")
    endif()
    set(OAUTH2CC_HTTPLIB_FOUND_BY "header")
    target_include_directories(httplib::httplib INTERFACE "${OAUTH2CC_HTTPLIB_INCLUDE_DIR}")
    target_link_libraries(httplib::httplib INTERFACE OpenSSL::SSL OpenSSL::Crypto
                          Threads::Threads)
  endif()
endif()

# hiredis, for the optional Redis token store (oauth2cc::redis): pkg-config hiredis
# (Debian's libhiredis-dev). Without it, oauth2cc::redis is not defined.
if(NOT TARGET oauth2cc_hiredis)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(OAUTH2CC_HIREDIS QUIET IMPORTED_TARGET GLOBAL hiredis>=0.14)
  endif()
  if(OAUTH2CC_HIREDIS_FOUND)
    add_library(oauth2cc_hiredis INTERFACE IMPORTED GLOBAL)
    target_link_libraries(oauth2cc_hiredis INTERFACE PkgConfig::OAUTH2CC_HIREDIS)
  endif()
endif()

# The adapters' libraries, each optional: libcurl (oauth2cc::curl), gRPC++ (oauth2cc::grpc),
# librdkafka (oauth2cc::kafka), by pkg-config (Debian's libcurl4-openssl-dev,
# libgrpc++-dev, librdkafka-dev). An adapter whose library is missing is not defined.
macro(_oauth2cc_find_adapter target module)
  if(NOT TARGET ${target})
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
      pkg_check_modules(_${target} QUIET IMPORTED_TARGET GLOBAL ${module})
    endif()
    if(_${target}_FOUND)
      add_library(${target} INTERFACE IMPORTED GLOBAL)
      target_link_libraries(${target} INTERFACE PkgConfig::_${target})
    endif()
  endif()
endmacro()
_oauth2cc_find_adapter(oauth2cc_libcurl libcurl>=7.84)
_oauth2cc_find_adapter(oauth2cc_grpcpp grpc++>=1.51)
_oauth2cc_find_adapter(oauth2cc_rdkafka rdkafka>=1.9)
