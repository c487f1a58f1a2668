#!/usr/bin/env bash
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# run.sh: the docs test. Builds every ```cpp block of README.md and docs/ (build_blocks.py),
# starts the local servers (tools/local-servers start), builds the README's quick start
# by the README's own command line, header-only, and runs it: it must print the API's
# answer. Then runs each guide's opening program against the same servers, and stops the
# servers (when it started them) and checks that their processes are gone.
# SPDX-License-Identifier: MIT
#
# Usage: tests/docs/run.sh OUT_DIR
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:?usage: run.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
fail() { echo "docs test: $*" >&2; exit 1; }

# Servers already running (a developer's) are used and left running.
started=0
if ! "$root/tools/local-servers" env >/dev/null 2>&1; then
  started=1
fi
exports=$("$root/tools/local-servers" start 2>"$out/local-servers.err") \
  || { cat "$out/local-servers.err" >&2; fail "tools/local-servers start failed"; }
[ "$started" -eq 0 ] || trap '"$root/tools/local-servers" stop 2>/dev/null || true' EXIT
grep -qvE '^export [A-Z0-9_]+=' <<<"$exports" && fail "start printed other lines than exports: $exports"
eval "$exports"

# The quick start: the README's first cpp block, saved as quick_start.cpp beside the
# single_include folder (a clone's root), built by the README's command, run.
python3 - "$root/README.md" "$out/quick" <<'PY'
import os, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
quick = text[text.index("## Quick start"):]
blocks = re.findall(r"```(\w*)\n(.*?)```", quick, re.S)
program = next(body for lang, body in blocks if lang == "cpp")
command = next(line for lang, body in blocks if lang == "sh"
               for line in body.split("\n") if line.startswith("c++ "))
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], "quick_start.cpp"), "w").write(program)
open(os.path.join(sys.argv[2], "build.sh"), "w").write(command + "\n")
PY
ln -sfn "$root/single_include" "$out/quick/single_include"
# Without cpp-httplib's flags the header stops at once with the command to use: its
# #error, then nothing from the rest of the header or from the unit's own code.
if (cd "$out/quick" && c++ -std=c++17 -I single_include -fsyntax-only quick_start.cpp) \
     >"$out/no-flags.log" 2>&1; then
  fail "the single header compiled without cpp-httplib's flags"
fi
grep -qF -- '-I single_include main.cpp $(pkg-config --cflags --libs cpp-httplib) -lssl -lcrypto -pthread' \
  "$out/no-flags.log" || { cat "$out/no-flags.log"; fail "the #error does not give the command line"; }
errors=$(grep -c 'error:' "$out/no-flags.log")
[ "$errors" -le 2 ] && ! grep -qE '^quick_start.cpp:[0-9]+:[0-9]+: ' "$out/no-flags.log" \
  || { cat "$out/no-flags.log"; fail "more errors than the #error without cpp-httplib's flags"; }
(cd "$out/quick" && bash build.sh) || fail "the quick start did not build by the README's command"
answer=$(cd "$out/quick" && ./quick_start) || fail "the quick start failed: $answer"
echo "quick start printed: $answer"
[[ $answer == '200 {"date":"'* ]] || fail "the quick start printed no date"

python3 "$root/tests/docs/build_blocks.py" "$out/blocks" --run

if [ "$started" -eq 1 ]; then
  pids=$(awk '{print $1}' "$root/build/local-servers/pids")
  trap - EXIT
  "$root/tools/local-servers" stop
  for pid in $pids; do
    ! kill -0 "$pid" 2>/dev/null || fail "process $pid still runs after tools/local-servers stop"
  done
  echo "tools/local-servers stop stopped $(echo $pids | wc -w) processes"
fi
