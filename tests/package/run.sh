#!/usr/bin/env bash
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# run.sh: packaging tests: outside projects take oauth2cc by every documented route.
# SPDX-License-Identifier: MIT
#
# Usage: run.sh SOURCE_DIR WORK_DIR [CMAKE_GENERATOR]
# Each route builds tests/package/consumer.cpp and runs it; any failure fails the test.
#   1. CMake install, then find_package(oauth2cc) from another project;
#   2. add_subdirectory() of the source tree;
#   3. pkg-config oauth2cc of the CMake install;
#   4. Meson install, then pkg-config oauth2cc of that install;
# each route in both modes: header-only, and compiled (oauth2cc::compiled,
# oauth2cc-compiled, oauth2cc_compiled_dep);
#   5. a Meson subproject.
set -euo pipefail

src=$(cd "${1:?usage: run.sh SOURCE_DIR WORK_DIR [GENERATOR]}" && pwd)
work=${2:?usage: run.sh SOURCE_DIR WORK_DIR [GENERATOR]}
generator=${3:-Ninja}
here="$src/tests/package"
cxx=${CXX:-c++}

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

version=$(sed -n 's/^#define OAUTH2CC_VERSION_STRING "\(.*\)"$/\1/p' "$src/include/oauth2cc/config.hpp")
[ -n "$version" ] || { echo "run.sh: no version in config.hpp" >&2; exit 1; }

step() { printf '\n== packaging: %s\n' "$*"; }
passed=0
ok() { passed=$((passed + 1)); echo "-- ok: $*"; }

# A copy of the source tree as a user would unpack it: no build trees, no node_modules.
copy_source() {
  mkdir -p "$1"
  tar -C "$src" --exclude=./build --exclude=./builddir --exclude=./.git \
      --exclude=node_modules --exclude=./subprojects -cf - . | tar -C "$1" -xf -
}

step "CMake install into a prefix"
cmake -S "$src" -B "$work/cmake-install" -G "$generator" -DOAUTH2CC_BUILD_TESTS=OFF \
      -DOAUTH2CC_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build "$work/cmake-install"
cmake --install "$work/cmake-install" >/dev/null
for f in include/oauth2cc/oauth2cc.hpp include/oauth2cc/config.hpp \
         share/cmake/oauth2cc/oauth2ccConfig.cmake share/cmake/oauth2cc/oauth2ccConfigVersion.cmake \
         share/cmake/oauth2cc/oauth2ccTargets.cmake share/cmake/oauth2cc/oauth2ccDependencies.cmake \
         share/pkgconfig/oauth2cc.pc share/cmake/oauth2cc/oauth2ccCompiledTargets.cmake \
         share/cmake/oauth2cc/oauth2ccCompiledTargets-noconfig.cmake; do
  [ -f "$work/prefix/$f" ] || { echo "run.sh: the install lacks $f" >&2; exit 1; }
done
ok "installed tree complete"

step "find_package(oauth2cc) from an outside project"
cmake -S "$here/cmake_find_package" -B "$work/find-package" -G "$generator" \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/find-package"
"$work/find-package/consumer" "$version"
"$work/find-package/consumer_compiled" "$version"
ok "find_package (oauth2cc::oauth2cc and oauth2cc::compiled)"
if pkg-config --exists hiredis 2>/dev/null; then
  # Built where hiredis is found: the store's bodies in oauth2cc::redis, none in the unit.
  [ -x "$work/find-package/consumer_redis" ] \
    || { echo "run.sh: oauth2cc::redis was not installed" >&2; exit 1; }
  "$work/find-package/consumer_redis"
  ok "find_package: oauth2cc::redis in compiled mode, no hiredis.h in the unit"
fi

step "a header-only install without a build, and find_package(oauth2cc) from it"
cmake -S "$src" -B "$work/header-only-install" -G "$generator" -DOAUTH2CC_BUILD_TESTS=OFF \
      -DOAUTH2CC_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$work/header-only-prefix" >/dev/null
cmake --install "$work/header-only-install" >/dev/null
[ -z "$(find "$work/header-only-prefix" -name '*.a')" ] \
  || { echo "run.sh: a library was installed without a build" >&2; exit 1; }
mkdir -p "$work/header-only-consumer"
cat > "$work/header-only-consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(header_only_consumer LANGUAGES CXX)
find_package(oauth2cc REQUIRED)
if(TARGET oauth2cc::compiled OR oauth2cc_compiled_FOUND)
  message(FATAL_ERROR "oauth2cc::compiled is defined, but its library was not installed")
endif()
add_executable(consumer "$here/consumer.cpp")
target_link_libraries(consumer PRIVATE oauth2cc::oauth2cc)
CMAKE
cmake -S "$work/header-only-consumer" -B "$work/header-only-consumer/build" -G "$generator" \
      -DCMAKE_PREFIX_PATH="$work/header-only-prefix" >/dev/null
cmake --build "$work/header-only-consumer/build"
"$work/header-only-consumer/build/consumer" "$version"
ok "header-only install without a build: find_package gives oauth2cc::oauth2cc alone"

step "find_package(oauth2cc) refuses a newer minor version than the installed one"
mkdir -p "$work/too-new"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(p LANGUAGES CXX)\nfind_package(oauth2cc %s.999 REQUIRED)\n' \
  "${version%.*}" > "$work/too-new/CMakeLists.txt"
if cmake -S "$work/too-new" -B "$work/too-new/build" -G "$generator" \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null 2>&1; then
  echo "run.sh: find_package accepted a version newer than the one installed" >&2
  exit 1
fi
ok "the version file refuses a newer request"

step "add_subdirectory() of the source tree"
cmake -S "$here/cmake_add_subdirectory" -B "$work/add-subdirectory" -G "$generator" \
      -DOAUTH2CC_SOURCE_DIR="$src" >/dev/null
cmake --build "$work/add-subdirectory"
"$work/add-subdirectory/consumer" "$version"
"$work/add-subdirectory/consumer_compiled" "$version"
ok "add_subdirectory (header-only and compiled)"

step "pkg-config oauth2cc of the CMake install"
pc_dir="$work/prefix/share/pkgconfig"
PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags oauth2cc | grep -q -- "-DCPPHTTPLIB_OPENSSL_SUPPORT"
mkdir -p "$work/pkg-config"
# shellcheck disable=SC2046
"$cxx" -std=c++17 "$here/consumer.cpp" -o "$work/pkg-config/consumer" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs oauth2cc)
"$work/pkg-config/consumer" "$version"
compiled_pc=$(dirname "$(find "$work/prefix" -name oauth2cc-compiled.pc | head -n 1)")
# shellcheck disable=SC2046
"$cxx" -std=c++17 "$here/consumer.cpp" -o "$work/pkg-config/consumer_compiled" \
  $(PKG_CONFIG_PATH="$compiled_pc" pkg-config --cflags --libs oauth2cc-compiled)
"$work/pkg-config/consumer_compiled" "$version"
ok "pkg-config oauth2cc and oauth2cc-compiled (CMake install)"

if command -v meson >/dev/null 2>&1; then
  step "Meson install, then pkg-config oauth2cc of that install"
  copy_source "$work/meson-src"
  meson setup "$work/meson-install" "$work/meson-src" -Dtests=false -Dexamples=false \
        --prefix "$work/meson-prefix" >/dev/null
  meson install -C "$work/meson-install" >/dev/null
  pc_dir="$work/meson-prefix/share/pkgconfig"
  [ -f "$work/meson-prefix/include/oauth2cc/oauth2cc.hpp" ]
  mkdir -p "$work/meson-pkg-config"
  # shellcheck disable=SC2046
  "$cxx" -std=c++17 "$here/consumer.cpp" -o "$work/meson-pkg-config/consumer" \
    $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs oauth2cc)
  "$work/meson-pkg-config/consumer" "$version"
  compiled_pc=$(dirname "$(find "$work/meson-prefix" -name oauth2cc-compiled.pc | head -n 1)")
  # shellcheck disable=SC2046
  "$cxx" -std=c++17 "$here/consumer.cpp" -o "$work/meson-pkg-config/consumer_compiled" \
    $(PKG_CONFIG_PATH="$compiled_pc" pkg-config --cflags --libs oauth2cc-compiled)
  "$work/meson-pkg-config/consumer_compiled" "$version"
  ok "pkg-config oauth2cc and oauth2cc-compiled (Meson install)"

  step "a Meson subproject"
  mkdir -p "$work/meson-consumer/subprojects"
  cp "$here/meson_subproject/meson.build" "$here/consumer.cpp" "$work/meson-consumer/"
  copy_source "$work/meson-consumer/subprojects/oauth2cc"
  meson setup "$work/meson-consumer/build" "$work/meson-consumer" >/dev/null
  meson compile -C "$work/meson-consumer/build"
  "$work/meson-consumer/build/consumer" "$version"
  "$work/meson-consumer/build/consumer_compiled" "$version"
  ok "Meson subproject (oauth2cc_dep and oauth2cc_compiled_dep)"
else
  echo "run.sh: meson is not installed (tools/bootstrap installs it)" >&2
  exit 1
fi

printf '\npackaging: %d passed, 0 failed\n' "$passed"
