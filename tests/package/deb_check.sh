#!/usr/bin/env bash
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# deb_check.sh: the Debian packages, as a user gets them: cpack builds liboauth2cc-dev and
# oauth2cc-cli from a build tree, dpkg -i installs them on this machine, an outside
# project compiles against the installed headers (find_package in compiled mode,
# pkg-config header-only), and oauth2cc-cli runs from PATH against oidc-provider, with its
# man page and bash completion in place. The packages are removed again at the end.
# SPDX-License-Identifier: MIT
#
# Usage: deb_check.sh SOURCE_DIR BUILD_DIR WORK_DIR
# BUILD_DIR is a configured and built tree with the examples (tools/run-tests gives it
# the default preset's). Needs root, or sudo, for dpkg.
set -euo pipefail

src=$(cd "${1:?usage: deb_check.sh SOURCE_DIR BUILD_DIR WORK_DIR}" && pwd)
build=$(cd "${2:?usage: deb_check.sh SOURCE_DIR BUILD_DIR WORK_DIR}" && pwd)
work=${3:?usage: deb_check.sh SOURCE_DIR BUILD_DIR WORK_DIR}
here="$src/tests/package"
cxx=${CXX:-c++}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "deb_check: dpkg needs root or sudo" >&2
  exit 1
fi
version=$(sed -n 's/^#define OAUTH2CC_VERSION_STRING "\(.*\)"$/\1/p' "$src/include/oauth2cc/config.hpp")
step() { printf '\n== deb: %s\n' "$*"; }
passed=0
ok() { passed=$((passed + 1)); echo "-- ok: $*"; }
fail() { echo "deb_check: $*" >&2; exit 1; }

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "${as_root[@]}" dpkg -r oauth2cc-cli liboauth2cc-dev >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "cpack: liboauth2cc-dev and oauth2cc-cli"
(cd "$build" && cpack -G DEB -B "$work/packages" >"$work/cpack.log" 2>&1) \
  || { cat "$work/cpack.log"; fail "cpack failed"; }
dev_deb=$(find "$work/packages" -maxdepth 1 -name "liboauth2cc-dev_${version}-1_*.deb")
cli_deb=$(find "$work/packages" -maxdepth 1 -name "oauth2cc-cli_${version}-1_*.deb")
[ -n "$dev_deb" ] && [ -n "$cli_deb" ] || { ls -l "$work/packages"; fail "a package is missing"; }
# Each field read whole first: `dpkg-deb | head | grep -q` under pipefail fails when head
# or grep stops reading before dpkg-deb has written everything (SIGPIPE).
dev_depends=$(dpkg-deb -f "$dev_deb" Depends)
cli_depends=$(dpkg-deb -f "$cli_deb" Depends)
cli_synopsis=$(dpkg-deb -f "$cli_deb" Description | sed -n 1p)
dev_synopsis=$(dpkg-deb -f "$dev_deb" Description | sed -n 1p)
grep -q 'libcpp-httplib-dev' <<<"$dev_depends" \
  || fail "liboauth2cc-dev does not depend on libcpp-httplib-dev"
grep -q 'libssl3\|libc6' <<<"$cli_depends" || fail "oauth2cc-cli names no shared library it needs"
grep -q 'calls from the shell$' <<<"$cli_synopsis" || fail "oauth2cc-cli has not its own synopsis"
grep -q '(headers)$' <<<"$dev_synopsis" || fail "liboauth2cc-dev has not its own synopsis"
ok "built $(basename "$dev_deb") and $(basename "$cli_deb")"

step "dpkg -i"
"${as_root[@]}" dpkg -i "$dev_deb" "$cli_deb" >"$work/dpkg.log" 2>&1 \
  || { cat "$work/dpkg.log"; fail "dpkg -i failed"; }
# Both .pc files in one folder under /usr/lib, where pkg-config looks by default.
dev_files=$(dpkg -L liboauth2cc-dev)
pc_file=$(grep -m1 '/pkgconfig/oauth2cc\.pc$' <<<"$dev_files") \
  || fail "liboauth2cc-dev installs no oauth2cc.pc"
case "$pc_file" in /usr/lib/*) ;; *) fail "oauth2cc.pc is installed as $pc_file, not under /usr/lib" ;; esac
for f in /usr/include/oauth2cc/oauth2cc.hpp /usr/share/cmake/oauth2cc/oauth2ccConfig.cmake \
         "$pc_file" "$(dirname "$pc_file")/oauth2cc-compiled.pc" /usr/bin/oauth2cc-cli \
         /usr/share/man/man1/oauth2cc-cli.1.gz \
         /usr/share/bash-completion/completions/oauth2cc-cli \
         /usr/share/doc/liboauth2cc-dev/copyright /usr/share/doc/oauth2cc-cli/copyright; do
  [ -f "$f" ] || fail "the packages do not install $f"
done
grep -q '/liboauth2cc_compiled.a$' <<<"$dev_files" || fail "no compiled library installed"
[ "$(pkg-config --variable=pcfiledir oauth2cc-compiled)" = "$(dirname "$pc_file")" ] \
  || fail "pkg-config does not find oauth2cc-compiled.pc beside oauth2cc.pc"
ok "installed under /usr"

step "an outside project against the installed headers"
cmake -S "$here/cmake_find_package" -B "$work/find-package" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release >"$work/find-package.log" 2>&1 \
  || { cat "$work/find-package.log"; fail "find_package(oauth2cc) failed"; }
grep -q "oauth2cc_DIR:PATH=/usr/share/cmake/oauth2cc" "$work/find-package/CMakeCache.txt" \
  || fail "find_package took oauth2cc from elsewhere than /usr"
cmake --build "$work/find-package" --target consumer_compiled >>"$work/find-package.log" 2>&1 \
  || { cat "$work/find-package.log"; fail "the compiled-mode consumer did not build"; }
"$work/find-package/consumer_compiled" "$version"
ok "find_package(oauth2cc): oauth2cc::compiled from /usr"
[ "$(realpath -m "$(pkg-config --variable=includedir oauth2cc)")" = "/usr/include" ] \
  || fail "pkg-config oauth2cc points at $(pkg-config --variable=includedir oauth2cc)"
# shellcheck disable=SC2046
"$cxx" -std=c++17 "$here/consumer.cpp" -o "$work/consumer" $(pkg-config --cflags --libs oauth2cc)
"$work/consumer" "$version"
ok "pkg-config oauth2cc: header-only from /usr/include"

step "oauth2cc-cli from PATH against oidc-provider"
cli=$(PATH=/usr/bin:/bin command -v oauth2cc-cli)
[ "$cli" = /usr/bin/oauth2cc-cli ] || fail "oauth2cc-cli is not on PATH"
[ "$(oauth2cc-cli --version)" = "oauth2cc-cli $version" ] || fail "oauth2cc-cli --version"
mkdir "$work/keys"
node "$src/tests/peers/oidc-provider/server.mjs" --ttl 300 --key-dir "$work/keys" \
  >"$work/as.out" 2>"$work/as.err" &
pids+=($!)
for _ in $(seq 1 300); do
  [ -s "$work/as.out" ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
token_url=$(head -n 1 "$work/as.out" \
  | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["token_endpoint"])') \
  || { cat "$work/as.err"; fail "oidc-provider did not start"; }
oauth2cc-cli --token-url "$token_url" --client-id basic-client --client-secret-file \
  <(printf 'basic-secret') --scope read_date token >"$work/token.json" 2>"$work/cli.err" \
  || { cat "$work/cli.err"; fail "oauth2cc-cli token failed"; }
python3 - "$work/token.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
assert t["token_type"] == "Bearer" and len(t["access_token"]) >= 20 and t["scope"] == "read_date", t.keys()
PY
ok "oauth2cc-cli token from /usr/bin"

step "the man page and the completion"
# groff writes a hyphen as \-: the text is read with plain ones.
zcat /usr/share/man/man1/oauth2cc-cli.1.gz | sed 's/\\-/-/g' >"$work/man.txt"
grep -q '^\.TH OAUTH2CC-CLI "1"' "$work/man.txt" || fail "the man page has no .TH OAUTH2CC-CLI 1"
for option in --token-url --client-secret-file --dpop-key --cache --version; do
  grep -qF -- "$option" "$work/man.txt" || fail "the man page does not document $option"
done
grep -q "Exit codes" "$work/man.txt" || fail "the man page lacks the exit codes"
bash "$here/completion_check.sh" /usr/bin/oauth2cc-cli \
  /usr/share/bash-completion/completions/oauth2cc-cli
ok "man oauth2cc-cli and its bash completion"

step "oauth2cc-agent from PATH, its unit and its user"
for f in /usr/bin/oauth2cc-agent /usr/share/man/man1/oauth2cc-agent.1.gz \
         /usr/lib/systemd/system/oauth2cc-agent.service \
         /usr/share/doc/oauth2cc-cli/examples/agent.json; do
  [ -f "$f" ] || fail "oauth2cc-cli does not install $f"
done
[ "$(oauth2cc-agent --version)" = "oauth2cc-agent $version" ] || fail "oauth2cc-agent --version"
getent passwd oauth2cc-agent >/dev/null || fail "the postinst made no user oauth2cc-agent"
[ "$(stat -c '%U:%G %a' /etc/oauth2cc-agent)" = "root:oauth2cc-agent 750" ] \
  || fail "/etc/oauth2cc-agent is $(stat -c '%U:%G %a' /etc/oauth2cc-agent), not root:oauth2cc-agent 750"
unit=$(cat /usr/lib/systemd/system/oauth2cc-agent.service)
for line in "User=oauth2cc-agent" "ExecStart=/usr/bin/oauth2cc-agent --config /etc/oauth2cc-agent/agent.json" \
            "ExecReload=/bin/kill -HUP \$MAINPID" "RuntimeDirectory=oauth2cc-agent"; do
  grep -qxF "$line" <<<"$unit" || fail "the unit lacks $line"
done
if command -v systemd-analyze >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemd-analyze verify /usr/lib/systemd/system/oauth2cc-agent.service \
    || fail "systemd-analyze verify refuses the unit"
fi
# The sample configuration passes --check once it names a real server and secret.
printf 'basic-secret' >"$work/reports.secret"
chmod 600 "$work/reports.secret"
python3 - /usr/share/doc/oauth2cc-cli/examples/agent.json "$work/agent.json" "$token_url" \
  "$work/agent.sock" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["listen"] = ["unix:" + sys.argv[4]]
cfg["sinks"] = []
p = cfg["profiles"]["reports"]
del p["issuer"]
p.update(token_url=sys.argv[3], client_id="basic-client", scope="read_date")
json.dump(cfg, open(sys.argv[2], "w"))
PY
oauth2cc-agent --check "$work/agent.json" >/dev/null || fail "oauth2cc-agent --check of the sample"
oauth2cc-agent --config "$work/agent.json" 2>"$work/agent.err" &
pids+=($!)
for _ in $(seq 1 100); do
  [ -S "$work/agent.sock" ] && break
  sleep 0.1
done
curl -sf --unix-socket "$work/agent.sock" http://agent/v1/token/reports >"$work/agent-token.json" \
  || { cat "$work/agent.err"; fail "the installed agent did not answer a token"; }
python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); assert t["token_type"] == "Bearer" and t["expires_in"] > 0' \
  "$work/agent-token.json" || fail "the installed agent's answer is not a token"
ok "oauth2cc-agent from /usr/bin, its unit, its user, a token on its socket"

echo "deb_check: $passed checks passed"
