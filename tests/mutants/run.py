#!/usr/bin/env python3
"""Mutation test of the security checks: `make mutants`.

Every tests/mutants/*.mut file holds blocks separated by blank lines:

    id: short-unique-name
    file: common/tuf.c
    find: exact text that occurs exactly once in that file (one line)
    replace: the broken version of that text
    test: shell command run from the tree's root that exits non-zero when
          the mutant is caught (indented lines continue the command)

Lines starting with '#' are comments. For each mutant a scratch copy of
the tree (build/mutants/slot-N: the sources, plus build/asan, build/release,
build/fuzz and bin with their timestamps, build/deps and build/src as
symlinks) gets the replacement, is rebuilt by make (only the changed file
recompiles, the rest relinks) and runs the test: a non-zero exit (or a
timeout) kills the mutant, exit 0 means it survived. Before that, every
test command runs once on the unmutated copy and must pass, otherwise a
"kill" would mean nothing. A mutant whose `find` does not occur exactly
once, or which does not compile, is BROKEN.

Prints one line per mutant and "N killed, N survived"; exits 1 on any
survivor, broken mutant or failing baseline.

  tests/mutants/run.py [-j N] [--only ID]... [--no-baseline] [--validate] [file.mut...]

--validate only parses and checks the `find` texts (fast: static checks
run it so that a mutant does not rot when its line changes).

Each slot is synced from the working tree when a mutant starts: do not
edit or rebase the tree while a run is under way (later mutants would
see the edits). A whole run (about 60 mutants, a third of them against
integration suites) took 40 minutes with -j2 on two shared cores.
"""

import argparse
import concurrent.futures
import fcntl
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIELDS = ("id", "file", "find", "replace", "test")
# build outputs copied into each slot with their timestamps, so make
# rebuilds only what the mutation touches
BUILD_DIRS = ("build/asan", "build/release", "build/fuzz", "bin")
# the third-party libraries are shared (symlinked): make must never try to
# rebuild them from a slot, whatever the timestamps say
SHARED_LINKS = ("build/deps", "build/src")
# tools and images prepared once in the tree for the tests (linked when
# there): the oracles, and containerize's base images (deploy-local and the
# containerize suites need the node base; it is written by mktemp + mv, so
# slots can share it)
OPTIONAL_LINKS = ("build/oracle", "build/containerize")
TEST_TIMEOUT = int(os.environ.get("MUTANTS_TIMEOUT", "900"))


class Mutant:
    def __init__(self, origin):
        self.origin = origin  # "file.mut:line"
        self.fields = {}
        self.broken = None  # reason, when it cannot be run

    def __getattr__(self, name):
        if name in FIELDS:
            return self.fields.get(name, "")
        raise AttributeError(name)


def parse(path):
    """Blocks of `key: value` lines; indented lines continue the last key."""
    mutants, cur, last = [], None, None
    rel = os.path.relpath(path, ROOT)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                cur, last = None, None
                continue
            if cur is None:
                cur = Mutant(f"{rel}:{n}")
                mutants.append(cur)
            if line[0] in " \t":
                if last != "test":
                    cur.broken = cur.broken or f"line {n}: only test: may continue on the next line"
                    continue
                cur.fields["test"] += " " + line.strip()
                continue
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or key not in FIELDS:
                cur.broken = cur.broken or f"line {n}: expected one of {', '.join(FIELDS)}"
                continue
            if key in cur.fields:
                cur.broken = cur.broken or f"line {n}: {key} given twice"
                continue
            # one space after the colon is the separator; the rest is exact
            cur.fields[key] = value[1:] if value.startswith(" ") else value
            last = key
    return mutants


def validate(mutants):
    seen = {}
    for m in mutants:
        if m.broken:
            continue
        missing = [k for k in FIELDS if not m.fields.get(k, "").strip() and k != "replace"]
        if "replace" not in m.fields:
            missing.append("replace")
        if missing:
            m.broken = "missing " + ", ".join(missing)
            continue
        if m.id in seen:
            m.broken = f"id also used at {seen[m.id]}"
            continue
        seen[m.id] = m.origin
        if m.find == m.replace:
            m.broken = "replace is the same as find"
            continue
        path = os.path.join(ROOT, m.file)
        if not os.path.isfile(path):
            m.broken = f"no file {m.file}"
            continue
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            count = f.read().count(m.find)
        if count != 1:
            m.broken = f"find occurs {count} times in {m.file} (must be exactly once)"


def unit_targets(test):
    """The unit and fuzz binaries a test command names (make builds them)."""
    return sorted(set(re.findall(r"build/(?:asan/tests/test|fuzz/fuzz)_[A-Za-z0-9_]+", test)))


def needs_tasks(test):
    """A test that only runs unit/fuzz binaries does not need every task
    binary relinked; anything else (scripts, CLI cases) gets `all asan`."""
    try:
        words = shlex.split(test)
    except ValueError:
        return True
    if not words or any(w in (";", "&&", "||", "|") or any(c in w for c in ";&|`$<>") for w in words):
        return True
    return not re.fullmatch(r"build/(asan/tests/test|fuzz/fuzz)_[A-Za-z0-9_]+", words[0])


def make_targets(test):
    return (["all", "asan"] if needs_tasks(test) else []) + unit_targets(test)


def deps_archives():
    """The third-party archives mk/*.mk build (build/deps/lib/lib*.a)."""
    names = set()
    for f in os.listdir(os.path.join(ROOT, "mk")):
        if f.endswith(".mk"):
            with open(os.path.join(ROOT, "mk", f), encoding="utf-8") as mk:
                names.update(re.findall(r"\$\(DEPS\)/lib/(lib[A-Za-z0-9_]+\.a)", mk.read()))
    return sorted(names)


def deps_old_files(tree):
    """`make -o` for every third-party archive: never remade from here."""
    out = []
    for name in deps_archives():
        out += ["-o", os.path.join("build", "deps", "lib", name)]
    return out


def run_make(tree, targets, log):
    cmd = ["make", "--no-print-directory", "-j2"] + deps_old_files(tree) + targets
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        return subprocess.run(cmd, cwd=tree, stdout=out, stderr=subprocess.STDOUT).returncode == 0


def source_files():
    out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                         check=True, stdout=subprocess.PIPE).stdout.decode()
    files = []
    for p in out.split("\0"):
        if not p or p.startswith(("build/", "bin/")):
            continue
        if os.path.isfile(os.path.join(ROOT, p)) or os.path.islink(os.path.join(ROOT, p)):
            files.append(p)
    return files


def same(src, dst):
    try:
        a, b = os.lstat(src), os.lstat(dst)
    except FileNotFoundError:
        return False
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns and a.st_mode == b.st_mode


def copy_file(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.islink(src):
        if os.path.lexists(dst):
            os.unlink(dst)
        os.symlink(os.readlink(src), dst)
        return
    if os.path.lexists(dst):
        os.unlink(dst)  # never write through into a file the template shares
    shutil.copy2(src, dst)


def sync_slot(slot, sources):
    """Make slot an exact copy of the tree's sources and build outputs,
    copying only what differs (by size, mtime, mode) from the last run."""
    wanted = set(sources)
    for d in BUILD_DIRS:
        top = os.path.join(ROOT, d)
        for base, dirs, files in os.walk(top):
            dirs[:] = [x for x in dirs if not os.path.islink(os.path.join(base, x))]
            for name in files:
                wanted.add(os.path.relpath(os.path.join(base, name), ROOT))
    for rel in wanted:
        src, dst = os.path.join(ROOT, rel), os.path.join(slot, rel)
        if not same(src, dst):
            copy_file(src, dst)
    # drop what the last mutant or test left behind (not the logs and
    # scratch dirs tests keep under build/, nor the shared links)
    for base, dirs, files in os.walk(slot):
        relbase = os.path.relpath(base, slot)
        if relbase == "build":
            dirs[:] = [x for x in dirs if os.path.join("build", x) in BUILD_DIRS]
        for name in files:
            rel = os.path.normpath(os.path.join(relbase, name))
            if rel not in wanted:
                os.unlink(os.path.join(base, name))
    for link in SHARED_LINKS + tuple(l for l in OPTIONAL_LINKS if os.path.exists(os.path.join(ROOT, l))):
        dst = os.path.join(slot, link)
        target = os.path.realpath(os.path.join(ROOT, link))
        if not os.path.islink(dst) or os.readlink(dst) != target:
            if os.path.lexists(dst):
                os.unlink(dst)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.symlink(target, dst)


def test_env(tree):
    env = dict(os.environ)
    env.update({
        "PIPELINE_BIN": os.path.join(tree, "build", "asan", "bin"),
        "PIPELINE_STATIC_BIN": os.path.join(tree, "bin"),
        "PIPELINE_BUILD": os.path.join(tree, "build"),
        "ASAN_OPTIONS": env.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0"),
        "LSAN_OPTIONS": env.get("LSAN_OPTIONS", "suppressions=%s/tests/lsan.supp:print_suppressions=0" % tree),
        "UBSAN_OPTIONS": env.get("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
    })
    return env


def run_test(tree, test, log):
    """Returns the exit status, or None on timeout (the group is killed)."""
    with open(log, "a") as out:
        out.write("$ " + test + "\n")
        out.flush()
        p = subprocess.Popen(["bash", "-c", test], cwd=tree, env=test_env(tree), stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            return p.wait(timeout=TEST_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return None


class Slots:
    """One scratch tree per parallel job, reused across mutants and runs."""

    def __init__(self, n, sources):
        self.free = [os.path.join(ROOT, "build", "mutants", f"slot-{i}") for i in range(n)]
        self.lock = threading.Lock()
        self.sources = sources
        # tests read the issue data beside the tree (<tree>/../shared): a
        # slot's parent is build/mutants, so it gets the same link there
        shared = os.path.join(ROOT, "..", "shared")
        link = os.path.join(ROOT, "build", "mutants", "shared")
        if os.path.isdir(shared):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            if not os.path.islink(link) or os.readlink(link) != os.path.realpath(shared):
                if os.path.lexists(link):
                    os.unlink(link)
                os.symlink(os.path.realpath(shared), link)

    def take(self):
        with self.lock:
            slot = self.free.pop()
        sync_slot(slot, self.sources)
        return slot

    def give(self, slot):
        with self.lock:
            self.free.append(slot)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("MUTANTS_JOBS", "1")))
    ap.add_argument("--only", action="append", default=[], metavar="ID")
    ap.add_argument("--no-baseline", action="store_true", help="skip running the tests on the unmutated tree")
    ap.add_argument("--validate", action="store_true", help="only check the .mut files")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()

    files = [os.path.abspath(f) for f in args.files] or sorted(
        os.path.join(ROOT, "tests", "mutants", f) for f in os.listdir(os.path.join(ROOT, "tests", "mutants"))
        if f.endswith(".mut"))
    mutants = [m for f in files for m in parse(f)]
    validate(mutants)
    if args.only:
        unknown = set(args.only) - {m.id for m in mutants}
        if unknown:
            sys.exit("no mutant with id " + ", ".join(sorted(unknown)))
        mutants = [m for m in mutants if m.id in args.only]

    if args.validate:
        bad = 0
        for m in mutants:
            if m.broken:
                print(f"FAIL: mutants/{m.id or m.origin}: BROKEN ({m.origin}): {m.broken}")
                bad += 1
            else:
                print(f"PASS: mutants/{m.id}")
        return 1 if bad else 0

    start = time.monotonic()
    os.makedirs(os.path.join(ROOT, "build", "mutants"), exist_ok=True)
    lock = open(os.path.join(ROOT, "build", "mutants", "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("FAIL: another make mutants runs in this tree (build/mutants/lock)")
        return 1
    logs = os.path.join(ROOT, "build", "mutants", "logs")
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    runnable = [m for m in mutants if not m.broken]

    missing = [a for a in deps_archives() if not os.path.exists(os.path.join(ROOT, "build", "deps", "lib", a))]
    if missing:
        print("FAIL: build/deps/lib lacks " + ", ".join(missing) + " (build the dependencies first: make)")
        return 1

    # the tree itself, up to date: every slot copies its outputs
    targets = ["all", "asan"] + sorted({t for m in runnable for t in unit_targets(m.test)})
    print(f"building {' '.join(targets)} (log: {os.path.relpath(logs, ROOT)}/template.log)", flush=True)
    if not run_make(ROOT, targets, os.path.join(logs, "template.log")):
        print("FAIL: the unmutated tree does not build")
        return 1

    slots = Slots(max(1, args.jobs), source_files())
    results = {}
    out_lock = threading.Lock()

    def say(line):
        with out_lock:
            print(line, flush=True)

    def baseline(test):
        slot = slots.take()
        try:
            log = os.path.join(logs, "baseline-%d.log" % tests.index(test))
            t0 = time.monotonic()
            if not run_make(slot, make_targets(test), log):
                return test, "does not build"
            rc = run_test(slot, test, log)
            secs = time.monotonic() - t0
            if rc != 0:
                why = "timed out" if rc is None else f"exit {rc}"
                say(f"baseline FAIL  {test}  ({why} on the unmutated tree, {secs:.0f}s, log {os.path.relpath(log, ROOT)})")
                return test, f"test fails on the unmutated tree ({why})"
            say(f"baseline ok    {test}  ({secs:.0f}s)")
            return test, None
        finally:
            slots.give(slot)

    def mutate(m):
        slot = slots.take()
        try:
            log = os.path.join(logs, m.id + ".log")
            t0 = time.monotonic()
            path = os.path.join(slot, m.file)
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
            os.unlink(path)  # a new inode with a new mtime: make sees the change
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text.replace(m.find, m.replace, 1))
            shutil.copymode(os.path.join(ROOT, m.file), path)
            if not run_make(slot, make_targets(m.test), log):
                return m, "broken", "the mutant does not compile", time.monotonic() - t0
            rc = run_test(slot, m.test, log)
            secs = time.monotonic() - t0
            if rc is None:
                return m, "killed", "timed out", secs
            return (m, "killed", f"exit {rc}", secs) if rc != 0 else (m, "survived", "exit 0", secs)
        finally:
            slots.give(slot)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs))
    tests = sorted({m.test for m in runnable})
    failed_baseline = {}
    if not args.no_baseline:
        for test, why in pool.map(baseline, tests):
            if why:
                failed_baseline[test] = why
    for m in runnable:
        if m.test in failed_baseline:
            m.broken = failed_baseline[m.test]

    counts = {"killed": 0, "survived": 0, "broken": 0}
    for m in mutants:
        if m.broken:
            counts["broken"] += 1
            say(f"BROKEN   {m.id or m.origin}  ({m.origin}): {m.broken}")
    futures = [pool.submit(mutate, m) for m in mutants if not m.broken]
    for fut in concurrent.futures.as_completed(futures):
        m, outcome, why, secs = fut.result()
        counts[outcome] += 1
        label = {"killed": "killed  ", "survived": "SURVIVED", "broken": "BROKEN  "}[outcome]
        say(f"{label} {m.id}  {m.file}  by: {m.test}  ({why}, {secs:.0f}s)")
    pool.shutdown()

    elapsed = time.monotonic() - start
    summary = f"{counts['killed']} killed, {counts['survived']} survived"
    if counts["broken"]:
        summary += f", {counts['broken']} broken"
    print(f"{summary} ({elapsed:.0f}s; logs in {os.path.relpath(logs, ROOT)})")
    return 0 if counts["survived"] == 0 and counts["broken"] == 0 and mutants else 1


if __name__ == "__main__":
    sys.exit(main())
