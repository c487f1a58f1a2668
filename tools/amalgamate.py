#!/usr/bin/env python3
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# amalgamate.py: writes single_include/oauth2cc/oauth2cc.hpp (and the twins of the add-on
# headers beside it) from include/.
# SPDX-License-Identifier: MIT
"""Amalgamate the oauth2cc headers into one.

Starting from include/oauth2cc/oauth2cc.hpp, every quoted include is replaced by the
file it names, each file once, in the order first reached. Angle-bracket includes stay
as they are. The bodies (each public header's `#if OAUTH2CC_WITH_BODIES` block) are
gathered after all the declarations, in one such block, so that compiled mode sees every
declaration and no body. Each add-on header (one left out of oauth2cc.hpp: prometheus.hpp,
and redis_token_store.hpp, whose bodies need hiredis) gets a twin beside it that includes
the single header, then what only the add-on declares, then its bodies in a block of their
own: the same two modes as the single header. The output depends on the input files alone (no dates, no paths of this
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
# Headers left out of oauth2cc.hpp (they need another library), each with a twin beside
# the single header that includes it.
ADDONS = ["prometheus.hpp", "redis_token_store.hpp", "curl.hpp", "grpc.hpp", "kafka.hpp"]

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


def inline_plain(path, seen, out, skip):
    """Inlines a file and what it includes, but for the files in seen or skip (an add-on's
    bodies: the single header has the rest, under the same OAUTH2CC_WITH_BODIES)."""
    rel = path.relative_to(INCLUDE_DIR).as_posix()
    if rel in seen or rel in skip:
        return
    seen.add(rel)
    out.append(f"// ---- {rel} ----")
    for line in strip_banner(path.read_text(encoding="utf-8").splitlines()):
        if PRAGMA_ONCE.match(line):
            continue
        if BODIES_IF.match(line):
            raise AmalgamationError(f"{rel}: a body has no bodies block of its own")
        match = QUOTED_INCLUDE.match(line)
        if not match:
            out.append(line.rstrip())
            continue
        inline_plain(resolve(path, rel, match.group(1)), seen, out, skip)


def inline_addon(path, seen, out, declared, in_bodies, bodies):
    """Inlines an add-on header (one left out of oauth2cc.hpp) for its single-header twin,
    which includes the single header first: files that the single header declares are
    skipped; the add-on's own bodies block is gathered into bodies, for one block after
    its declarations. Its declarations may not reach a file that the single header has
    among its bodies only."""
    rel = path.relative_to(INCLUDE_DIR).as_posix()
    if rel in seen or rel in declared:
        return
    if rel in in_bodies:
        raise AmalgamationError(f"{rel}: an add-on's declarations reach a body-only file")
    seen.add(rel)
    out.append(f"// ---- {rel} ----")
    lines = strip_banner(path.read_text(encoding="utf-8").splitlines())
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if PRAGMA_ONCE.match(line):
            continue
        if BODIES_IF.match(line):
            # The add-on's own bodies: gathered for one block after its declarations.
            if rel.count("/") != 1:
                raise AmalgamationError(f"{rel}: only an add-on header has a bodies block")
            while i < len(lines) and not ENDIF.match(lines[i]):
                match = QUOTED_INCLUDE.match(lines[i])
                if not match:
                    raise AmalgamationError(f"{rel}: only includes may stand in a bodies block")
                bodies.append(resolve(path, rel, match.group(1)))
                i += 1
            i += 1  # the #endif
            continue
        match = QUOTED_INCLUDE.match(line)
        if not match:
            out.append(line.rstrip())
            continue
        inline_addon(resolve(path, rel, match.group(1)), seen, out, declared, in_bodies, bodies)


def fold(body):
    """Folds runs of blank lines into one, so the output reads like hand-written code."""
    folded = []
    for line in body:
        if not line and folded and not folded[-1]:
            continue
        folded.append(line)
    while folded and not folded[-1]:
        folded.pop()
    return folded


def banner(version, what):
    return [
        "// oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.",
        f"// {what} of oauth2cc {version}.",
        "// GENERATED from include/ by tools/amalgamate.py - DO NOT EDIT",
        "// SPDX-License-Identifier: MIT",
        "#pragma once",
        "",
    ]


def amalgamate():
    """The single header, and the twins of the add-on headers: {path: text}."""
    config = (INCLUDE_DIR / "oauth2cc" / "config.hpp").read_text(encoding="utf-8")
    version = VERSION_STRING.search(config)
    if not version:
        raise AmalgamationError("config.hpp: OAUTH2CC_VERSION_STRING not found")
    body = []
    seen = set()
    deferred = []
    inline_file(ENTRY, seen, body, deferred)
    declared = set(seen)
    body += ["", "#if OAUTH2CC_WITH_BODIES"]
    for path in deferred:
        inline_file(path, seen, body, deferred, in_bodies=True)
    body += ["#endif  // OAUTH2CC_WITH_BODIES"]
    in_bodies = seen - declared
    outputs = {OUTPUT: "\n".join(banner(version.group(1), "Single-header edition") + fold(body)) + "\n"}

    for name in ADDONS:
        addon = ["#include \"oauth2cc.hpp\"", ""]
        bodies = []
        addon_seen = set()
        inline_addon(INCLUDE_DIR / "oauth2cc" / name, addon_seen, addon, declared, in_bodies,
                     bodies)
        if bodies:
            addon += ["", "#if OAUTH2CC_WITH_BODIES"]
            for path in bodies:
                inline_plain(path, addon_seen, addon, declared | in_bodies)
            addon += ["#endif  // OAUTH2CC_WITH_BODIES"]
        lines = banner(version.group(1), f"{name}, beside the single header,") + fold(addon)
        outputs[OUTPUT.parent / name] = "\n".join(lines) + "\n"
    return outputs


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed single header; exit 1 with a diff")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT,
                        help="where to write (default: single_include/oauth2cc/oauth2cc.hpp)")
    args = parser.parse_args(argv)

    try:
        outputs = amalgamate()
    except AmalgamationError as e:
        print(f"amalgamate.py: {e}", file=sys.stderr)
        return 2
    if args.output != OUTPUT:
        outputs = {args.output: outputs[OUTPUT]}

    if args.check:
        stale = False
        for path, text in outputs.items():
            current = path.read_text(encoding="utf-8") if path.is_file() else ""
            if current == text:
                continue
            stale = True
            diff = difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                        f"committed {path.name}", f"generated {path.name}")
            sys.stdout.writelines(diff)
        if not stale:
            print("amalgamate.py: the single header and its twins are up to date")
            return 0
        print("amalgamate.py: the single header is out of date; "
              "run python3 tools/amalgamate.py and commit the result", file=sys.stderr)
        return 1

    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
