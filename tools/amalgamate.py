#!/usr/bin/env python3
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# amalgamate.py: writes single_include/oauth2cc/oauth2cc.hpp from include/.
# SPDX-License-Identifier: MIT
"""Amalgamate the oauth2cc headers into one.

Starting from include/oauth2cc/oauth2cc.hpp, every quoted include is replaced by the
file it names, each file once, in the order first reached. Angle-bracket includes stay
as they are. The output depends on the input files alone (no dates, no paths of this
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


def inline_file(path, seen, out):
    rel = path.relative_to(INCLUDE_DIR).as_posix()
    if rel in seen:
        return
    seen.add(rel)
    out.append(f"// ---- {rel} ----")
    text = path.read_text(encoding="utf-8")
    for line in strip_banner(text.splitlines()):
        if PRAGMA_ONCE.match(line):
            continue
        match = QUOTED_INCLUDE.match(line)
        if not match:
            out.append(line.rstrip())
            continue
        target = (path.parent / match.group(1)).resolve()
        if not target.is_file():
            raise AmalgamationError(f"{rel}: quoted include not found: {match.group(1)}")
        try:
            target.relative_to(INCLUDE_DIR)
        except ValueError:
            raise AmalgamationError(f"{rel}: include leaves include/: {match.group(1)}")
        inline_file(target, seen, out)


def amalgamate():
    config = (INCLUDE_DIR / "oauth2cc" / "config.hpp").read_text(encoding="utf-8")
    version = VERSION_STRING.search(config)
    if not version:
        raise AmalgamationError("config.hpp: OAUTH2CC_VERSION_STRING not found")
    body = []
    inline_file(ENTRY, set(), body)

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
