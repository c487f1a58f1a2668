#!/usr/bin/env python3
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# build_blocks.py: builds every ```cpp block of README.md and docs/*.md against the single
# header, so that the docs cannot rot.
# SPDX-License-Identifier: MIT
#
# Usage: build_blocks.py OUT_DIR [--cxx C++] [--jobs N] [--run]
# --run: then runs each program, from the repository's root, against the local servers
# whose variables (tools/local-servers start) are set; each must exit 0 within 60 s.
#
# A block with a main() is a program: it is compiled as written and linked. A block
# without one is a fragment, compiled against the harness that docs/README.md states: its
# preprocessor lines first, after <oauth2cc/oauth2cc.hpp>, tests/docs/harness.hpp and the
# standard headers; then, if it defines a class, the rest at namespace scope, else the
# rest as the body of harness.hpp's `fragment(cfg, tokens, gateway_tokens)`.
# A block that includes a header this machine lacks (opentelemetry, hiredis) is skipped
# with a line that says so. Each block is compiled in compiled mode (OAUTH2CC_COMPILED_LIB;
# the bodies come from one unit built once), which checks the same names and types as
# header-only, in 2 s a block instead of 12. The quick start is built header-only, by the
# README's own command, in quick_start.sh.
# Prints one line per block and a count; exits 1 when one fails.
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--cxx", default=os.environ.get("CXX", "c++"))
parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
parser.add_argument("--run", action="store_true")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)


def flags(name):
    try:
        return subprocess.run(["pkg-config", "--cflags", "--libs", name], check=True,
                              capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return []


httplib = flags("cpp-httplib") or ["-DCPPHTTPLIB_OPENSSL_SUPPORT"]
hiredis = flags("hiredis")
base = [args.cxx, "-std=c++17", "-pthread", "-I", os.path.join(root, "single_include"),
        "-I", os.path.join(root, "tests", "docs"), "-DOAUTH2CC_COMPILED_LIB"]
libs = [f for f in httplib + hiredis if f.startswith("-l")] + ["-lssl", "-lcrypto"]


def blocks():
    files = [os.path.join(root, "README.md")] + sorted(
        os.path.join(root, "docs", f) for f in os.listdir(os.path.join(root, "docs"))
        if f.endswith(".md"))
    for path in files:
        lines = open(path, encoding="utf-8").read().split("\n")
        start = None
        for i, line in enumerate(lines):
            if start is None and line.strip() == "```cpp":
                start = i + 1
            elif start is not None and line.strip() == "```":
                yield os.path.relpath(path, root), start, "\n".join(lines[start:i]) + "\n"
                start = None


def unit(text):
    """The translation unit of a block, and whether it is a program."""
    if re.search(r"^\s*int\s+main\s*\(", text, re.M):
        return text, True
    pre = [l for l in text.split("\n") if l.lstrip().startswith("#")]
    rest = "\n".join("" if l.lstrip().startswith("#") else l for l in text.split("\n"))
    head = "\n".join(pre) + "\n#include <oauth2cc/oauth2cc.hpp>\n#include \"harness.hpp\"\n"
    if re.search(r"^\s*(class|struct)\s+\w+", text, re.M):
        return head + "using namespace oauth2cc_docs;\n" + rest, False
    return (head + "void oauth2cc_docs::fragment(oauth2cc::client_config cfg, "
            "oauth2cc::token_manager& tokens, oauth2cc::token_manager& gateway_tokens) {\n"
            "(void)cfg; (void)tokens; (void)gateway_tokens;\n{\n" + rest + "\n}\n}\n"), False


def lacks(text):
    if "opentelemetry/" in text and not os.path.isdir("/usr/include/opentelemetry"):
        return "opentelemetry-cpp's headers are not installed"
    if "redis_token_store.hpp" in text and not hiredis:
        return "hiredis (pkg-config hiredis) is not installed"
    return None


# The bodies, once: the library, its Prometheus add-on, and the Redis store where hiredis is.
impl = os.path.join(args.out, "implementation.cpp")
with open(impl, "w") as f:
    f.write("#define OAUTH2CC_IMPLEMENTATION\n#include <oauth2cc/oauth2cc.hpp>\n"
            "#include <oauth2cc/prometheus.hpp>\n")
    if hiredis:
        f.write("#include <oauth2cc/redis_token_store.hpp>\n")
impl_o = impl[:-4] + ".o"
subprocess.run(base + httplib + hiredis + ["-c", impl, "-o", impl_o], check=True)


def build(item):
    n, (path, line, text) = item
    where = f"{path}:{line}"
    why = lacks(text)
    if why:
        return where, "skipped", why
    source, program = unit(text)
    name = os.path.join(args.out, f"block{n:02d}")
    with open(name + ".cpp", "w") as f:
        f.write(f'#line 1 "{where}"\n' if program else "")
        f.write(source)
    extra = hiredis if "redis_token_store.hpp" in text else []
    if "OAUTH2CC_IMPLEMENTATION" in text:  # the bodies' unit needs cpp-httplib's flags
        extra = extra + httplib
    cmd = base + extra + ["-c", name + ".cpp", "-o", name + ".o"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode == 0 and program:
        r = subprocess.run([args.cxx, "-pthread", name + ".o", impl_o, "-o", name] + libs + extra,
                           capture_output=True, text=True)
    if r.returncode != 0:
        return where, "FAILED", r.stderr[-4000:]
    if program and args.run:
        try:
            r = subprocess.run([os.path.abspath(name)], cwd=root, capture_output=True, text=True,
                               timeout=60, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return where, "FAILED", "ran for more than 60 s"
        if r.returncode != 0:
            return where, "FAILED", f"exit code {r.returncode}: {r.stdout[-2000:]}{r.stderr[-2000:]}"
        return where, "program, ran: " + (r.stdout.strip().split("\n") or [""])[0][:100], ""
    return where, "program" if program else "fragment", ""


items = list(enumerate(blocks()))
failed = built = 0
with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
    for where, what, detail in pool.map(build, items):
        print(f"docs block {where}: {what}" + (f" ({detail})" if what == "skipped" else ""))
        if what == "FAILED":
            failed += 1
            print(detail)
        elif what != "skipped":
            built += 1
print(f"docs blocks: {built} built, {failed} failed, {len(items) - built - failed} skipped")
sys.exit(1 if failed else 0)
