#!/usr/bin/env python3
"""Golden CLI cases: argv, stdin, env -> stdout, stderr pattern, results, exit.

Each tests/cli/<task>/*.case file holds one or more cases:

    === name of the case
    --- args            one argument per line, exactly as given
    --- env             NAME=value per line
    --- cwd-tmp         run in @TMP@ (relative paths in args resolve there)
    --- stdin           bytes fed to stdin (the final newline is kept)
    --- stdin-raw       same, without the final newline
    --- stdout          expected stdout, exactly
    --- stdout-match    a regular expression (Python re, searched) stdout must match
    --- stderr          a regular expression (Python re, searched) stderr must match
    --- stderr-not      a regular expression stderr must NOT match (e.g. a secret)
    --- exit            expected exit code (default 0)
    --- result NAME     expected content of results/NAME (final newline dropped)
    --- result-match NAME  a regular expression results/NAME must match whole
    --- no-results      no result file may exist afterwards
    --- file PATH       create PATH (under the case's temp dir) with this content

In args, env and file content, @TMP@ is the case's temp dir, @CASES@
the directory of the .case file and @BIN@ $PIPELINE_BIN (the binaries
under test: pipeline-run runs them). The binary is $PIPELINE_BIN/<task>.
"""
import os
import re
import subprocess
import sys
import tempfile


def parse(path):
    cases, case, section = [], None, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("=== "):
                case = {"name": line[4:].strip(), "sections": []}
                cases.append(case)
                section = None
            elif line.startswith("--- ") and case is not None:
                section = [line[4:].strip(), []]
                case["sections"].append(section)
            elif section is not None:
                section[1].append(line)
            elif line.strip() and not line.startswith("#"):
                raise SystemExit(f"{path}: text outside a section: {line!r}")
    # blank lines ending a section only separate it from the next one
    for c in cases:
        for sec in c["sections"]:
            while sec[1] and sec[1][-1] == "\n":
                sec[1].pop()
    return cases


def text(lines, keep_newline=True):
    s = "".join(lines)
    return s if keep_newline else (s[:-1] if s.endswith("\n") else s)


def run_case(binary, case, cases_dir):
    with tempfile.TemporaryDirectory() as tmp:
        bindir = os.path.dirname(os.path.abspath(binary))
        subst = lambda s: s.replace("@TMP@", tmp).replace("@CASES@", cases_dir).replace("@BIN@", bindir)
        results = os.path.join(tmp, "results")
        args, env, stdin, cwd = [], {"PATH": os.environ["PATH"]}, b"", None
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "HOME"):
            if var in os.environ:
                env[var] = os.environ[var]
        expect = {"exit": 0, "results": {}, "no_results": False}
        for head, lines in case["sections"]:
            kind, _, arg = head.partition(" ")
            if kind == "args":
                args += [subst(l.rstrip("\n")) for l in lines]
            elif kind == "env":
                for l in lines:
                    k, _, v = subst(l.rstrip("\n")).partition("=")
                    env[k] = v
            elif kind == "cwd-tmp":
                cwd = tmp
            elif kind == "stdin":
                stdin = text(lines).encode()
            elif kind == "stdin-raw":
                stdin = text(lines, False).encode()
            elif kind == "stdout":
                expect["stdout"] = subst(text(lines))
            elif kind == "stdout-match":
                expect["stdout_match"] = subst(text(lines, False))
            elif kind == "stderr":
                expect["stderr"] = text(lines, False)
            elif kind == "stderr-not":
                expect["stderr_not"] = text(lines, False)
            elif kind == "exit":
                expect["exit"] = int(text(lines).strip())
            elif kind == "result":
                expect["results"][arg] = subst(text(lines, False))
            elif kind == "result-match":
                expect.setdefault("result_match", {})[arg] = subst(text(lines, False))
            elif kind == "no-results":
                expect["no_results"] = True
            elif kind == "file":
                p = os.path.join(tmp, subst(arg))
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w", encoding="utf-8") as f:
                    f.write(subst(text(lines)))
            else:
                return [f"unknown section {head!r}"]
        proc = subprocess.run([os.path.abspath(binary), f"--results-dir={results}"] + args, input=stdin,
                              env=env, capture_output=True, timeout=60, cwd=cwd)
        out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        problems = []
        if proc.returncode != expect["exit"]:
            problems.append(f"exit {proc.returncode}, want {expect['exit']}")
        if "stdout" in expect and out != expect["stdout"]:
            problems.append(f"stdout {out!r}, want {expect['stdout']!r}")
        if "stdout_match" in expect and not re.search(expect["stdout_match"], out, re.S):
            problems.append(f"stdout {out!r} does not match {expect['stdout_match']!r}")
        if "stderr" in expect and not re.search(expect["stderr"], err):
            problems.append(f"stderr {err!r} does not match {expect['stderr']!r}")
        if "stderr_not" in expect and re.search(expect["stderr_not"], err + out):
            problems.append(f"output matches forbidden {expect['stderr_not']!r}")
        for name, want in expect["results"].items():
            p = os.path.join(results, name)
            got = open(p, encoding="utf-8").read() if os.path.exists(p) else None
            if got != want:
                problems.append(f"result {name} = {got!r}, want {want!r}")
        for name, pattern in expect.get("result_match", {}).items():
            p = os.path.join(results, name)
            got = open(p, encoding="utf-8").read() if os.path.exists(p) else None
            if got is None or not re.fullmatch(pattern, got, re.S):
                problems.append(f"result {name} = {got!r}, does not match {pattern!r}")
        if expect["no_results"] and os.path.isdir(results) and os.listdir(results):
            problems.append(f"results left behind: {os.listdir(results)}")
        problems += result_rules(os.path.basename(binary), proc.returncode, results)
        if "AddressSanitizer" in err or "runtime error:" in err or "LeakSanitizer" in err:
            problems.append("sanitizer report:\n" + err)
        return problems


# What every case must leave, whatever it says (README "Results"): a run
# that failed (1), was misused (2), was refused credentials (4) or could
# not reach a server (5) writes no result, so a missing result never reads
# as a verdict; a lint gate that says no (3) writes its verdict, status=fail
# and the findings count, for a `finally` task to read.
VERDICT_ON_POLICY = {"docker-lint": ("status", "findings"), "cis-check": ("status", "findings")}


def result_rules(task, code, results):
    have = sorted(os.listdir(results)) if os.path.isdir(results) else []
    if code in (1, 2, 4, 5) and have:
        return [f"exit {code} left results {have}"]
    if code == 3 and task in VERDICT_ON_POLICY:
        missing = [n for n in VERDICT_ON_POLICY[task] if n not in have]
        if missing:
            return [f"exit 3 without the verdict results {missing}"]
        status = open(os.path.join(results, "status"), encoding="utf-8").read()
        if status != "fail":
            return [f"exit 3 with status={status!r}"]
    return []


def main():
    root = sys.argv[1]
    only = sys.argv[2:]  # task names: only their cases (mutant tests)
    bindir = os.environ.get("PIPELINE_BIN", "build/asan/bin")
    failed = 0
    for task in sorted(os.listdir(root)):
        task_dir = os.path.join(root, task)
        if not os.path.isdir(task_dir) or (only and task not in only):
            continue
        binary = os.path.join(bindir, task)
        for fname in sorted(os.listdir(task_dir)):
            if not fname.endswith(".case"):
                continue
            for case in parse(os.path.join(task_dir, fname)):
                label = f"cli/{task}/{fname[:-5]}: {case['name']}"
                problems = run_case(binary, case, os.path.abspath(task_dir))
                print(("FAIL: " if problems else "PASS: ") + label)
                for p in problems:
                    print("    " + p)
                failed += bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
