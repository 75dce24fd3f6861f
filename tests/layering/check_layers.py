#!/usr/bin/env python3
"""Checks which way the project's dependencies point (docs/architecture.md) and that the
repository stands alone. Run by ctest as `layering`; exits 1 listing every violation.

Also: no Catch2 test name holds a ';' (ctest's discovery splits it and the case never runs).
Rules: base includes nothing of the project; kernels are leaves over base; data and sched use
only base; nas uses base and sched, and the engine only through nas/train_bridge.cpp; the engine
never includes sched, nas or cli; no tracked file names the development machines' shared folder
beside the checkout or their work paths.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
ALLOWED = {
    "base": {"base"},
    "kernels": {"base", "kernels"},
    "data": {"base", "data"},
    "sched": {"base", "sched"},
    "nas": {"base", "sched", "nas"},
    "engine": {"base", "data", "engine", "kernels"},
}
EXCEPTIONS = {("nas/train_bridge.cpp", "engine")}  # the NAS's one door into training
SOURCES = (".h", ".cpp", ".cu", ".cuh")


def include_violations():
    bad = []
    for layer, allowed in ALLOWED.items():
        for dirpath, _, files in os.walk(os.path.join(ROOT, layer)):
            for name in files:
                if not name.endswith(SOURCES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, ROOT)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for inc in INCLUDE.findall(text):
                    top = inc.split("/")[0] if "/" in inc else None
                    if top is None or top not in ALLOWED and top != "cli":
                        continue  # same-folder or generated includes
                    if top not in allowed and (rel, top) not in EXCEPTIONS:
                        bad.append(f"{rel}: includes {inc} ({layer} may use {', '.join(sorted(allowed))})")
    return bad


def outside_paths():
    try:
        files = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return []  # not a git checkout (a source tarball): nothing to check
    bad = []
    # Spelled in pieces so that this file does not name them itself.
    needles = (".." + "/shared", "/work" + "/shared", "/work" + "/main")
    for rel in files:
        path = os.path.join(ROOT, rel)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        for n in needles:
            if n.encode() in data:
                bad.append(f"{rel}: names {n}, a path outside the repository")
    return bad


def test_names():
    """Catch2 test names with ';' are split by ctest's discovery, so the case silently never runs."""
    bad = []
    pattern = re.compile(r'TEST_CASE\("([^"]*)"')
    for dirpath, _, files in os.walk(os.path.join(ROOT, "tests")):
        for name in files:
            if name.endswith(".cpp"):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for case in pattern.findall(f.read()):
                        if ";" in case:
                            bad.append(f"{os.path.relpath(path, ROOT)}: test name with ';' never runs under ctest: {case}")
    return bad


def main():
    bad = include_violations() + outside_paths() + test_names()
    for line in bad:
        print(line)
    print(f"{len(bad)} violation(s)" if bad else "layering: every dependency points the documented way")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
