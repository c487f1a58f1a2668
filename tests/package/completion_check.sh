#!/usr/bin/env bash
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# completion_check.sh: the bash completion offers exactly what oauth2cc-cli --help lists:
# every option (the call command's after `call` only), the commands, and the values of
# --auth, --client-key-alg and --basic-encoding.
# SPDX-License-Identifier: MIT
#
# Usage: completion_check.sh OAUTH2CC_CLI COMPLETION_SCRIPT
set -euo pipefail
cli=${1:?usage: completion_check.sh OAUTH2CC_CLI COMPLETION_SCRIPT}
script=${2:?usage: completion_check.sh OAUTH2CC_CLI COMPLETION_SCRIPT}
# shellcheck source=/dev/null
source "$script"
failed=0
fail() { echo "completion_check: $*" >&2; failed=1; }

# What the completion offers for the words typed so far (the last one being completed).
complete_words() {
    COMP_WORDS=("oauth2cc-cli" "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    _oauth2cc_cli
    printf '%s\n' "${COMPREPLY[@]}" | sort -u
}
# The options a --help text lists: "  -X,--request" gives -X and --request.
options_of() {
    grep -oE '^  (-[A-Za-z],)?--[a-z][a-z-]*' | sed -E 's/^ +//; s/,/\n/' | sort -u
}
# The choices a --help text shows for an option: "--auth METHOD:{a,b}".
choices_of() {
    grep -oE -- "^  $1 [^ ]*:\{[^}]*\}" | sed -E 's/.*\{(.*)\}/\1/' | tr ',' '\n' | sort -u
}
same() {
    local what=$1 want=$2 got=$3
    if [ "$want" != "$got" ]; then
        fail "$what differ from --help:"
        diff <(echo "$want") <(echo "$got") >&2 || true
    fi
}

help=$("$cli" --help)
call_help=$("$cli" call --help)
[ "$(complete_words -- | grep -c .)" -gt 20 ] || fail "no options offered"

# The program's options (and --version, which CLI11 does not list), before a command.
same "the options" "$( (echo "$help" | options_of; echo --version) | sort -u)" \
     "$(complete_words - | grep -v '^--version$' | cat - <(echo --version) | sort -u)"
# After `call`, its own options too (its --help is the program's, already there).
same "the call options" \
     "$( (echo "$help" | options_of; echo "$call_help" | options_of; echo --version) | sort -u)" \
     "$(complete_words call - )"
# After `token`, no call option.
complete_words token - | grep -qx -- '--data' && fail "--data offered after token"
# The commands.
same "the commands" \
     "$(echo "$help" | sed -n '/^Subcommands:/,/^$/p' | grep -oE '^  [a-z]+' | tr -d ' ' | sort -u)" \
     "$(complete_words '')"
[ -z "$(complete_words token '')" ] || fail "a second command offered after token"
# The values of the options that take one of a list.
for option in --auth --client-key-alg --basic-encoding; do
    same "the values of $option" "$(echo "$help" | choices_of "$option")" \
         "$(complete_words "$option" '')"
done
# File names after the options that take a file.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/client-key.pem"
[ "$(complete_words --client-key "$tmp/client-k")" = "$tmp/client-key.pem" ] \
    || fail "no file name completed after --client-key"

[ "$failed" -eq 0 ] && echo "completion_check: the completion matches oauth2cc-cli --help"
exit "$failed"
