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
#   5. a Meson subproject (and one used header-only, which builds no library);
#   6. FetchContent by the README's own snippet, from this checkout by file URL.
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
         lib/pkgconfig/oauth2cc.pc lib/pkgconfig/oauth2cc-compiled.pc \
         share/cmake/oauth2cc/oauth2ccCompiledTargets.cmake \
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
# Nor any file of the compiled mode, and its one .pc beside the library's others.
compiled_files=$(find "$work/header-only-prefix" -name 'oauth2cc-compiled.pc' -o -name 'oauth2ccCompiled*')
[ -z "$compiled_files" ] \
  || { echo "run.sh: a header-only install has compiled-mode files: $compiled_files" >&2; exit 1; }
[ "$(find "$work/header-only-prefix" -name '*.pc')" = "$work/header-only-prefix/lib/pkgconfig/oauth2cc.pc" ] \
  || { echo "run.sh: a header-only install's .pc is not lib/pkgconfig/oauth2cc.pc alone" >&2; exit 1; }
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

step "FetchContent, by the README's snippet"
# The snippet as the README gives it, with its repository URL replaced by this checkout's
# (file://); its GIT_TAG must be this version's tag, and the tag must be in the checkout.
snippet=$(grep -m1 '^FetchContent_Declare(oauth2cc ' "$src/README.md") \
  || { echo "run.sh: the README has no FetchContent_Declare(oauth2cc ...) line" >&2; exit 1; }
tag=$(sed -n 's/.* GIT_TAG \([^ )]*\).*/\1/p' <<<"$snippet")
[ "$tag" = "v$version" ] \
  || { echo "run.sh: the README's FetchContent names GIT_TAG '$tag', not v$version" >&2; exit 1; }
if [ -e "$src/.git" ] && command -v git >/dev/null 2>&1; then
  if ! git -C "$src" rev-parse -q --verify "refs/tags/$tag^{commit}" >/dev/null; then
    # A clone made without tags: the snippet's form is still proven, at this commit.
    echo "run.sh: this checkout has no tag $tag (git fetch --tags); fetching HEAD instead" >&2
    snippet=$(sed "s/ GIT_TAG [^ )]*/ GIT_TAG $(git -C "$src" rev-parse HEAD)/" <<<"$snippet")
  fi
  snippet=$(sed "s| GIT_REPOSITORY [^ )]*| GIT_REPOSITORY file://$src|" <<<"$snippet")
  mkdir -p "$work/fetch-content"
  cp "$here/consumer.cpp" "$work/fetch-content/"
  cat >"$work/fetch-content/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(fetch_content_consumer LANGUAGES CXX)
include(FetchContent)
$snippet
FetchContent_MakeAvailable(oauth2cc)
add_executable(consumer consumer.cpp)
target_link_libraries(consumer PRIVATE oauth2cc::oauth2cc)
CMAKE
  cmake -S "$work/fetch-content" -B "$work/fetch-content/build" -G "$generator" >/dev/null
  cmake --build "$work/fetch-content/build"
  "$work/fetch-content/build/consumer" "$version"
  ok "FetchContent by the README's snippet (GIT_TAG $tag)"
else
  echo "run.sh: not a git checkout; the FetchContent snippet is not fetched" >&2
fi

step "pkg-config oauth2cc of the CMake install"
pc_dir="$work/prefix/lib/pkgconfig"
PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags oauth2cc | grep -q -- "-DCPPHTTPLIB_OPENSSL_SUPPORT"
mkdir -p "$work/pkg-config"
# shellcheck disable=SC2046
"$cxx" -std=c++17 "$here/consumer.cpp" -o "$work/pkg-config/consumer" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs oauth2cc)
"$work/pkg-config/consumer" "$version"
compiled_pc=$pc_dir
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
  pc_dir=$(dirname "$(find "$work/meson-prefix" -name oauth2cc.pc | head -n 1)")
  [ -f "$pc_dir/oauth2cc-compiled.pc" ] \
    || { echo "run.sh: Meson installed oauth2cc.pc and oauth2cc-compiled.pc apart" >&2; exit 1; }
  [ -f "$work/meson-prefix/include/oauth2cc/oauth2cc.hpp" ]
  mkdir -p "$work/meson-pkg-config"
  # shellcheck disable=SC2046
  "$cxx" -std=c++17 "$here/consumer.cpp" -o "$work/meson-pkg-config/consumer" \
    $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs oauth2cc)
  "$work/meson-pkg-config/consumer" "$version"
  compiled_pc=$pc_dir
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

  step "a Meson subproject used header-only builds no library"
  mkdir -p "$work/meson-header-only/subprojects"
  cp "$here/consumer.cpp" "$work/meson-header-only/"
  sed -n '1,/^executable(.consumer.,/p' "$here/meson_subproject/meson.build" \
    >"$work/meson-header-only/meson.build"
  copy_source "$work/meson-header-only/subprojects/oauth2cc"
  meson setup "$work/meson-header-only/build" "$work/meson-header-only" >/dev/null
  meson compile -C "$work/meson-header-only/build"
  "$work/meson-header-only/build/consumer" "$version"
  [ -z "$(find "$work/meson-header-only/build" -name '*.a')" ] \
    || { echo "run.sh: a header-only Meson subproject built a static library" >&2; exit 1; }
  ok "Meson subproject, header-only: no static library built"
else
  echo "run.sh: meson is not installed (tools/bootstrap installs it)" >&2
  exit 1
fi

printf '\npackaging: %d passed, 0 failed\n' "$passed"
