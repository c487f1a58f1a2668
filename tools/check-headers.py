#!/usr/bin/env python3
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# check-headers.py: every public declaration in the public headers has a /// line (a
# type, a function, a member, an enumerator), and no header is over 400 lines. Prints
# each breach; exits 1 if any.
# SPDX-License-Identifier: MIT
"""Usage: tools/check-headers.py [include-dir]   (default: include/oauth2cc)

A declaration is documented when the line before it (after any `template <...>` line
and other /// lines) is a /// comment, or when it ends with a ///< comment. Skipped:
private and protected sections, special members (`= delete`, `= default`, destructors,
`override` of a documented base), preprocessor lines, and namespace lines."""

import re
import sys
from pathlib import Path

MAX_LINES = 400  # a header a newcomer can hold in their head

DECL = re.compile(r"^\s*(?:(?:struct|class|enum class|enum|using)\s+\w+|"
                  r"[\w:<>,\s\*&~]+\(|[\w:<>,\s\*&]+\s+\w+(?:\{[^}]*\})?\s*(?:=[^;]*)?;|\w+,?\s*$|\w+\s*=)")
SKIP = re.compile(r"= delete|= default|^\s*~|override\b|^\s*(?:public|private|protected):|"
                  r"^\s*(?:#|//|namespace|}|friend\b|return\b|if\b|for\b|while\b|static_assert)")


def undocumented(path):
    lines = path.read_text().splitlines()
    out = []
    depth_private = []  # per class nesting: are we in a private section?
    brace = 0
    body_depth = None  # inside a function body: skip
    for i, line in enumerate(lines):
        stripped = line.strip()
        opens, closes = line.count("{"), line.count("}")
        if body_depth is not None:
            brace += opens - closes
            if brace <= body_depth:
                body_depth = None
            continue
        if re.match(r"^\s*(private|protected):", line):
            if depth_private:
                depth_private[-1] = True
        elif re.match(r"^\s*public:", line):
            if depth_private:
                depth_private[-1] = False
        in_private = bool(depth_private) and depth_private[-1]
        is_type = re.match(r"^\s*(struct|class|enum class|enum)\s+\w+[^;]*$", line)
        forward = re.match(r"^\s*(struct|class)\s+\w+;$", line)
        macro_line = i > 0 and lines[i - 1].rstrip().endswith("\\")
        if stripped and not in_private and not SKIP.search(line) and DECL.match(line) \
                and not stripped.startswith("template") and not forward and not macro_line:
            j = i - 1
            while j >= 0 and lines[j].strip().startswith("template"):
                j -= 1
            documented = "///" in line or (j >= 0 and lines[j].strip().startswith("///"))
            # a declaration continued from the line before is part of that one
            continued = j >= 0 and lines[j].rstrip().endswith((",", "(", "&&", "||")) and \
                not lines[j].strip().startswith("///")
            if not documented and not continued:
                out.append(f"{path}:{i + 1}: {stripped}")
        if is_type and opens:
            depth_private.append(line.lstrip().startswith("class"))
            brace += opens - closes
            continue
        if opens > closes and not is_type and not stripped.startswith("namespace") and \
                re.search(r"\)\s*(const)?\s*(noexcept)?\s*(override)?\s*\{", line):
            body_depth = brace
            brace += opens - closes
            continue
        brace += opens - closes
        if closes > opens and depth_private and stripped.startswith("}"):
            depth_private.pop()
    return out


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "include/oauth2cc")
    problems = []
    for path in sorted(root.glob("*.hpp")):
        problems += undocumented(path)
    undocumented_count = len(problems)
    for path in sorted(root.rglob("*.hpp")):
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            problems.append(f"{path}: {lines} lines, over {MAX_LINES}")
    for p in problems:
        print(p)
    print(f"check-headers: {undocumented_count} public declarations without a /// line, "
          f"{len(problems) - undocumented_count} headers over {MAX_LINES} lines", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
