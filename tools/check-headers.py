#!/usr/bin/env python3
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# check-headers.py: every public declaration in the public headers has a /// line (a
# type, a function, a member, an enumerator), no header is over 400 lines, and detail/
# keeps its layers: every header in a role folder (at most 12 a folder), and includes
# between folders only downward in LAYERS; impl/ holds bodies of public names only; no
# include cycle among the public headers' declarations; no function is over 80 lines.
# Prints each breach; exits 1 if any.
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
MAX_PER_FOLDER = 12
MAX_FUNCTION_LINES = 80  # a long function is a sequence of named steps
CONTROL = re.compile(r"^(?:if|else|for|while|switch|catch|try|do|namespace|class|struct|union|"
                     r"enum|extern)\b")
# detail/'s role folders, lowest first: a header includes its own folder's headers and
# those of folders below it, never above (the public headers, ../../X.hpp, are
# declarations that every layer may use).
LAYERS = ["text", "crypto", "http", "oauth", "store", "manager", "config", "adapters"]
QUOTED = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

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


def layer_breaches(root):
    """Headers outside a role folder, folders over MAX_PER_FOLDER, upward includes; and
    impl/ files that hold anything but the bodies of their public header's names."""
    detail = root / "detail"
    out = []
    for path in sorted((root / "impl").glob("*.hpp")):
        # X_inl.hpp, or X_part_inl.hpp for a part of X's bodies (token_manager_async_inl.hpp)
        stem = path.name[: -len("_inl.hpp")].split("_")
        owners = [root / ("_".join(stem[:n]) + ".hpp") for n in range(len(stem), 0, -1)]
        if not path.name.endswith("_inl.hpp") or not any(o.is_file() for o in owners):
            out.append(f"{path}: not the bodies of a public header (X.hpp + impl/X_inl.hpp)")
        if re.search(r"^namespace detail\b", path.read_text(), re.M):
            out.append(f"{path}: holds detail code; helpers live in detail/")
    if not detail.is_dir():
        return out
    for path in sorted(detail.glob("*.hpp")):
        out.append(f"{path}: not in a role folder of detail/ ({', '.join(LAYERS)})")
    for folder in sorted(p for p in detail.iterdir() if p.is_dir()):
        if folder.name not in LAYERS:
            out.append(f"{folder}: not a layer of detail/ ({', '.join(LAYERS)})")
            continue
        headers = sorted(folder.glob("*.hpp"))
        if len(headers) > MAX_PER_FOLDER:
            out.append(f"{folder}: {len(headers)} headers, over {MAX_PER_FOLDER}")
        for path in headers:
            for line in path.read_text().splitlines():
                match = QUOTED.match(line)
                if not match:
                    continue
                target = (path.parent / match.group(1)).resolve()
                try:
                    rel = target.relative_to(detail.resolve())
                except ValueError:
                    continue  # a public header
                to = rel.parts[0]
                if to in LAYERS and LAYERS.index(to) > LAYERS.index(folder.name):
                    out.append(f"{path}: includes {match.group(1)}, a layer above "
                               f"{folder.name}/")
    return out


def code_lines(path):
    """The file's lines with comments, string and character literals blanked out."""
    out = []
    in_block = False
    for line in path.read_text().splitlines():
        text, i = [], 0
        while i < len(line):
            if in_block:
                end = line.find("*/", i)
                if end < 0:
                    i = len(line)
                    continue
                in_block, i = False, end + 2
                continue
            c = line[i]
            if line.startswith("//", i):
                break
            if line.startswith("/*", i):
                in_block, i = True, i + 2
                continue
            if c in "\"'":
                j = i + 1
                while j < len(line) and line[j] != c:
                    j += 2 if line[j] == "\\" else 1
                text.append(c + c)
                i = j + 1
                continue
            text.append(c)
            i += 1
        out.append("".join(text))
    return out


def long_functions(path):
    """Function bodies (outside any other function) longer than MAX_FUNCTION_LINES, from
    the first line of their signature to their closing brace."""
    out = []
    stack = []  # per open brace: True when it opens a function body
    head, head_line, parens = "", None, 0
    for number, line in enumerate(code_lines(path), 1):
        if line.lstrip().startswith("#"):
            continue
        for c in line:
            in_function = any(opened for opened, _ in stack)
            if c == "(":
                parens += 1
            elif c == ")":
                parens -= 1
            if c == "{":
                text = head.strip()
                is_function = (not in_function and parens == 0 and ")" in text and
                               not CONTROL.match(text) and "=" not in text.split("(")[0] and
                               not text.split("(")[0].rstrip().endswith("]"))
                stack.append((is_function, head_line if is_function else number))
                head, head_line = "", None
                continue
            if c == "}":
                if stack:
                    opened_function, start = stack.pop()
                    if opened_function and number - start + 1 > MAX_FUNCTION_LINES:
                        out.append(f"{path}:{start}: a function of {number - start + 1} lines, "
                                   f"over {MAX_FUNCTION_LINES}")
                head, head_line = "", None
                continue
            if c == ";" and parens == 0:
                head, head_line = "", None
                continue
            if not c.isspace() and head_line is None:
                head_line = number
            head += c
        head += " "
    return out


def declaration_cycles(root):
    """Include cycles among the public headers, their bodies blocks left out: a
    declaration never needs another that needs it back."""
    graph = {}
    for path in sorted(root.glob("*.hpp")):
        text = re.sub(r"#if OAUTH2CC_WITH_BODIES.*?#endif", "", path.read_text(), flags=re.S)
        graph[path.name] = [m for m in re.findall(r'#include "([^"/]+)"', text)]
    out = []

    def visit(name, trail):
        for nxt in graph.get(name, []):
            if nxt in trail:
                cycle = trail[trail.index(nxt):] + [nxt]
                if cycle[0] == min(cycle[:-1]):  # each cycle once
                    out.append(f"{root}: an include cycle among declarations: "
                               f"{' -> '.join(cycle)}")
            elif nxt in graph:
                visit(nxt, trail + [nxt])

    for name in graph:
        visit(name, [name])
    return sorted(set(out))


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
    long_count = len(problems) - undocumented_count
    layers = layer_breaches(root) + declaration_cycles(root)
    problems += layers
    functions = []
    for path in sorted(root.rglob("*.hpp")):
        functions += long_functions(path)
    problems += functions
    for p in problems:
        print(p)
    print(f"check-headers: {undocumented_count} public declarations without a /// line, "
          f"{long_count} headers over {MAX_LINES} lines, {len(layers)} breaches of the layers, "
          f"{len(functions)} functions over {MAX_FUNCTION_LINES} lines", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
