#!/usr/bin/env python3
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# amalgamate.py: writes single_include/oauth2cc/oauth2cc.hpp from include/.
# SPDX-License-Identifier: MIT
"""Amalgamate the oauth2cc headers into one.

Starting from include/oauth2cc/oauth2cc.hpp, every quoted include is replaced by the
file it names, each file once, in the order first reached. Angle-bracket includes stay
as they are. The bodies (each public header's `#if OAUTH2CC_WITH_BODIES` block) are
gathered after all the declarations, in one such block, so that compiled mode sees every
declaration and no body. The output depends on the input files alone (no dates, no paths of this
machine), so the committed single header can be checked byte for byte.

    python3 tools/amalgamate.py            write the single header
    python3 tools/amalgamate.py --check    exit 1 with a diff when it is out of date
    python3 tools/amalgamate.py --output F write it to F instead
"""

import argparse
import difflib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE_DIR = ROOT / "include"
ENTRY = INCLUDE_DIR / "oauth2cc" / "oauth2cc.hpp"
OUTPUT = ROOT / "single_include" / "oauth2cc" / "oauth2cc.hpp"

QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*(//.*)?$')
BODIES_IF = re.compile(r"^\s*#\s*if\s+OAUTH2CC_WITH_BODIES\s*$")
ENDIF = re.compile(r"^\s*#\s*endif\b")
PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\s*$")
VERSION_STRING = re.compile(r'^#define OAUTH2CC_VERSION_STRING "([^"]+)"', re.M)


class AmalgamationError(Exception):
    pass


def strip_banner(lines):
    """Drops a file's leading comment banner and its #pragma once."""
    i = 0
    while i < len(lines) and (lines[i].startswith("//") or not lines[i].strip()):
        i += 1
    if i < len(lines) and PRAGMA_ONCE.match(lines[i]):
        i += 1
    return lines[i:]


def is_public(rel):
    """A header of the public API (not under detail/ or impl/)."""
    return rel.count("/") == 1


def resolve(path, rel, name):
    target = (path.parent / name).resolve()
    if not target.is_file():
        raise AmalgamationError(f"{rel}: quoted include not found: {name}")
    try:
        target.relative_to(INCLUDE_DIR)
    except ValueError:
        raise AmalgamationError(f"{rel}: include leaves include/: {name}")
    return target


def inline_file(path, seen, out, deferred, in_bodies=False):
    rel = path.relative_to(INCLUDE_DIR).as_posix()
    if rel in seen:
        return
    if in_bodies and is_public(rel):
        raise AmalgamationError(f"{rel}: reached from a body only; oauth2cc.hpp must include it")
    seen.add(rel)
    out.append(f"// ---- {rel} ----")
    text = path.read_text(encoding="utf-8")
    lines = strip_banner(text.splitlines())
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if PRAGMA_ONCE.match(line):
            continue
        if BODIES_IF.match(line) and not in_bodies:
            # A header's bodies: kept for the one block after every declaration.
            while i < len(lines) and not ENDIF.match(lines[i]):
                match = QUOTED_INCLUDE.match(lines[i])
                if not match:
                    raise AmalgamationError(f"{rel}: only includes may stand in a bodies block")
                deferred.append(resolve(path, rel, match.group(1)))
                i += 1
            i += 1  # the #endif
            continue
        match = QUOTED_INCLUDE.match(line)
        if not match:
            out.append(line.rstrip())
            continue
        inline_file(resolve(path, rel, match.group(1)), seen, out, deferred, in_bodies)


def amalgamate():
    config = (INCLUDE_DIR / "oauth2cc" / "config.hpp").read_text(encoding="utf-8")
    version = VERSION_STRING.search(config)
    if not version:
        raise AmalgamationError("config.hpp: OAUTH2CC_VERSION_STRING not found")
    body = []
    seen = set()
    deferred = []
    inline_file(ENTRY, seen, body, deferred)
    body += ["", "#if OAUTH2CC_WITH_BODIES"]
    for path in deferred:
        inline_file(path, seen, body, deferred, in_bodies=True)
    body += ["#endif  // OAUTH2CC_WITH_BODIES"]

    # Fold runs of blank lines into one, so the output reads like hand-written code.
    folded = []
    for line in body:
        if not line and folded and not folded[-1]:
            continue
        folded.append(line)
    while folded and not folded[-1]:
        folded.pop()

    banner = [
        "// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.",
        f"// Single-header edition of oauth2cc {version.group(1)}.",
        "// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT",
        "// SPDX-License-Identifier: MIT",
        "#pragma once",
        "",
    ]
    return "\n".join(banner + folded) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed single header; exit 1 with a diff")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT,
                        help="where to write (default: single_include/oauth2cc/oauth2cc.hpp)")
    args = parser.parse_args(argv)

    try:
        text = amalgamate()
    except AmalgamationError as e:
        print(f"amalgamate.py: {e}", file=sys.stderr)
        return 2

    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current == text:
            print("amalgamate.py: the single header is up to date")
            return 0
        diff = difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                    "committed", "generated")
        sys.stdout.writelines(diff)
        print("amalgamate.py: the single header is out of date; "
              "run python3 tools/amalgamate.py and commit the result", file=sys.stderr)
        return 1

    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
