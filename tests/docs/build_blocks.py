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
# A block that includes a header this machine lacks (opentelemetry, hiredis, an adapter's
# library: libcurl, gRPC++, librdkafka) is skipped with a line that says so. A block that
# includes dates.grpc.pb.h gets the example gRPC service's stubs, made by protoc. Each block is compiled in compiled mode (OAUTH2CC_COMPILED_LIB;
# the bodies come from one unit built once), which checks the same names and types as
# header-only, in 2 s a block instead of 12. The quick start is built header-only, by the
# README's own command, in quick_start.sh.
# Prints one line per block and a count; exits 1 when one fails.
import argparse
import concurrent.futures
import os
import re
import shutil
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
        return subprocess.run(["pkg-config", "--cflags", "--libs"] + name.split(), check=True,
                              capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return []


httplib = flags("cpp-httplib") or ["-DCPPHTTPLIB_OPENSSL_SUPPORT"]
hiredis = flags("hiredis")
# The adapters' libraries, by the add-on header that needs each; empty where missing.
adapters = {"curl.hpp": flags("libcurl"), "grpc.hpp": flags("grpc++ protobuf"),
            "kafka.hpp": flags("rdkafka")}
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
    for header, found in adapters.items():
        if f"oauth2cc/{header}" in text and not found:
            return f"the library of oauth2cc/{header} is not installed"
    if "dates.grpc.pb.h" in text and not dates_objects:
        return "protoc or its gRPC plugin is not installed"
    return None


def needs(text):
    """The flags of the libraries a block's add-on headers need."""
    out = hiredis if "redis_token_store.hpp" in text else []
    for header, found in adapters.items():
        if f"oauth2cc/{header}" in text:
            out = out + found
    return out


# The bodies, once: the library, its Prometheus add-on, and the Redis store and the adapters
# where their libraries are.
impl = os.path.join(args.out, "implementation.cpp")
impl_flags = httplib + hiredis
with open(impl, "w") as f:
    f.write("#define OAUTH2CC_IMPLEMENTATION\n#include <oauth2cc/oauth2cc.hpp>\n"
            "#include <oauth2cc/prometheus.hpp>\n")
    if hiredis:
        f.write("#include <oauth2cc/redis_token_store.hpp>\n")
    for header, found in adapters.items():
        if found:
            f.write(f"#include <oauth2cc/{header}>\n")
            impl_flags = impl_flags + found
impl_o = impl[:-4] + ".o"
subprocess.run(base + impl_flags + ["-c", impl, "-o", impl_o], check=True)

# The example gRPC service's stubs (examples/grpc_server/dates.proto), for the blocks that
# call it: generated and compiled once.
dates_objects = []
protoc, plugin = shutil.which("protoc"), shutil.which("grpc_cpp_plugin")
if adapters["grpc.hpp"] and protoc and plugin:
    gen = os.path.join(args.out, "grpc-gen")
    os.makedirs(gen, exist_ok=True)
    proto_dir = os.path.join(root, "examples", "grpc_server")
    subprocess.run([protoc, "-I", proto_dir, "--cpp_out", gen, "--grpc_out", gen,
                    f"--plugin=protoc-gen-grpc={plugin}", os.path.join(proto_dir, "dates.proto")],
                   check=True)
    for stem in ("dates.pb", "dates.grpc.pb"):
        obj = os.path.join(gen, stem + ".o")
        subprocess.run([args.cxx, "-std=c++17", "-c", os.path.join(gen, stem + ".cc"), "-o", obj]
                       + adapters["grpc.hpp"], check=True)
        dates_objects.append(obj)
    base = base + ["-I", gen]


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
    extra = needs(text)
    if "OAUTH2CC_IMPLEMENTATION" in text:  # the bodies' unit needs cpp-httplib's flags
        extra = extra + httplib
    cmd = base + extra + ["-c", name + ".cpp", "-o", name + ".o"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode == 0 and program:
        # The bodies' unit holds every adapter found: its libraries go on every link.
        objects = [name + ".o", impl_o] + (dates_objects if "dates.grpc.pb.h" in text else [])
        r = subprocess.run([args.cxx, "-pthread"] + objects + ["-o", name] + libs + extra +
                           [f for f in impl_flags if f.startswith(("-l", "-L", "-pthread"))],
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
