#!/usr/bin/env python3
"""extract-value-jq must print exactly what `jq -r -c` (Debian's jq) prints.

Runs every case of jq's own test corpus (tests/jq.test from the Debian
source package the Makefile unpacks, never committed here) and of our own
corpus (tests/cli/jq-cases.test, same format) through both programs, with
the case's input on stdin, and compares stdout byte for byte and success.
Cases Debian's jq itself fails under `jq --run-tests` are left out, by line.
Debian's jq must be the very version libjq is built from (the corpus comes
from that source); a jq that crashes, in its test mode or on a case, is no
oracle and fails the test instead of leaving nothing (or everything) out.

Format (jq's): blank lines and '#' lines separate cases; a case is a
program line, an input line, and expected output lines; a case starting
with "%%FAIL" is a program that must not compile.
"""
import concurrent.futures
import os
import re
import subprocess
import sys


def parse(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    cases, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            i += 1
            continue
        start = i + 1
        fail = line.startswith("%%FAIL")
        if fail:
            i += 1
        program = lines[i]
        i += 1
        input_text = None
        if not fail:
            input_text = lines[i] if i < len(lines) else ""
            i += 1
        while i < len(lines) and lines[i].strip():
            i += 1
        cases.append({"line": start, "program": program, "input": input_text, "fail": fail})
    return cases


def debian_failures(path, modules):
    """Line numbers of cases Debian's jq fails in its own test mode, or a
    string saying why that run is no oracle (it crashed, or stopped before
    its summary line): then nothing can be left out."""
    with open(path, "rb") as f:
        p = subprocess.run(["jq", "-L", modules, "--run-tests"], stdin=f, capture_output=True)
    summary = re.search(rb"^(\d+) of (\d+) tests passed", p.stdout, re.M)
    if p.returncode < 0 or p.returncode > 1 or not summary:
        tail = (p.stdout[-300:] + p.stderr[-300:]).decode(errors="replace")
        return f"Debian's jq --run-tests crashed or stopped (exit {p.returncode}, no summary): {tail!r}"
    bad = set()
    for m in re.finditer(rb"\*\*\*.*?line (?:number )?(\d+)", p.stdout):
        bad.add(int(m.group(1)))
    return bad


def oracle_version_problem(build, jq_src):
    """Why Debian's jq is not the oracle for this corpus, or None: it must
    be the very Debian version libjq was built from (tests/setup-debian.sh
    installs it), since the corpus comes from that source."""
    def out(cmd):
        p = subprocess.run(cmd, capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None
    installed = out(["dpkg-query", "-W", "-f=${Version}", "jq"])
    source = out(["dpkg-parsechangelog", "-l", os.path.join(jq_src, "debian", "changelog"), "-S", "Version"])
    try:
        with open(os.path.join(build, "deps", "lib", "libjq.a.source"), encoding="utf-8") as f:
            built = f.read().split()[-1]
    except OSError:
        built = None
    if installed and installed == source == built:
        return None
    return (f"Debian's jq is {installed or '(not installed)'}, the jq corpus source {source or '(missing)'}, "
            f"libjq built from {built or '(unknown)'}: they must be one version (run tests/setup-debian.sh and make)")


def run(cmd, stdin, cwd):
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, cwd=cwd, timeout=60)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return -1, b"", b"timeout"


def check(case, ours, modules, cwd):
    prog = case["program"]
    stdin = b"" if case["fail"] else (case["input"] + "\n").encode()
    jrc, jout, jerr = run(["jq", "-L", modules, "-r", "-c", prog], stdin, cwd)
    orc, oout, oerr = run([ours, "--jq-library-path=" + modules, "--expression=" + prog], stdin, cwd)
    problems = []
    if jrc < 0 or jrc > 5:
        problems.append(f"Debian's jq crashed (exit {jrc}): {jerr[-300:]!r}")
    if case["fail"]:
        if jrc == 0 or orc != 2:
            problems.append(f"compile failure expected: jq exit {jrc}, ours exit {orc}")
    else:
        if oout != jout:
            problems.append(f"stdout differs: jq {jout[:300]!r}, ours {oout[:300]!r}")
        if (jrc == 0) != (orc == 0):
            problems.append(f"exit differs: jq {jrc}, ours {orc}: {oerr[:300]!r}")
    if b"Sanitizer" in oerr or b"runtime error:" in oerr:
        problems.append("sanitizer report: " + oerr.decode(errors="replace")[:2000])
    return problems


def main():
    ours = os.path.abspath(os.path.join(os.environ.get("PIPELINE_BIN", "build/asan/bin"), "extract-value-jq"))
    build = os.path.abspath(os.environ.get("PIPELINE_BUILD", "build"))
    here = os.path.dirname(os.path.abspath(__file__))
    jq_src = os.path.join(build, "src", "jq-1.6")
    corpora = [
        ("jq", os.path.join(jq_src, "tests", "jq.test"), os.path.join(jq_src, "tests", "modules")),
        ("ours", os.path.join(here, "jq-cases.test"), os.path.join(here, "jq-modules")),
    ]
    failed = 0
    problem = oracle_version_problem(build, jq_src)
    print(("FAIL: " if problem else "PASS: ") + "corpus/oracle-is-the-built-jq-version")
    if problem:
        print("    " + problem)
        failed += 1
    for label, path, modules in corpora:
        if not os.path.exists(path):
            print(f"FAIL: corpus/{label}: {path} is missing")
            failed += 1
            continue
        skip = debian_failures(path, modules)
        if isinstance(skip, str):
            print(f"FAIL: corpus/{label}-oracle-runs")
            print("    " + skip)
            failed += 1
            skip = set()
        cases = [c for c in parse(path) if c["line"] not in skip]
        cwd = os.path.dirname(path)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda c: (c, check(c, ours, modules, cwd)), cases))
        for case, problems in results:
            name = f"corpus/{label}:{case['line']}: {case['program'][:60]}"
            print(("FAIL: " if problems else "PASS: ") + name)
            for p in problems:
                print("    " + p)
            failed += bool(problems)
        print(f"# corpus {label}: {len(cases)} cases compared, {len(skip)} left out (Debian's jq fails them)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
