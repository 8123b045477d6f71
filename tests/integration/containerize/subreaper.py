#!/usr/bin/env python3
"""Run a command as a child of a subreaper and report what it left behind.

usage: subreaper.py [--term-on TEXT] LOG -- COMMAND...

The command's stdout and stderr go to LOG. With --term-on, the command
gets SIGTERM as soon as a line of its stderr contains TEXT. Once the
command has exited, every process it left (reparented to us, because we
are its subreaper) is listed, then reaped; a second look, after the
leftovers had up to 20 s to end, lists those still running. Prints:

    exit <status>
    orphans <comm>... (or none): what was left at exit, zombies included
    running <comm>... (or none): still running after the wait
    netns-held <yes|no>: whether any process still holds the network
                         namespace named by a "netns: net:[N]" line of LOG

Exits 0 (the verdict is the caller's)."""
import ctypes
import os
import re
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children():
    out = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                out += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return out


def describe(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        comm = st[st.index("(") + 1:st.rindex(")")]
        state = st[st.rindex(")") + 2]
        return comm, state
    except (OSError, ValueError):
        return None, None


def netns_held(inode):
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/ns/net" % p) == inode:
                return True
        except OSError:
            pass
    return False


def main():
    args = sys.argv[1:]
    term_on = None
    if args[:1] == ["--term-on"]:
        term_on, args = args[1], args[2:]
    log, sep, cmd = args[0], args[1], args[2:]
    assert sep == "--" and cmd
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("subreaper.py: prctl(PR_SET_CHILD_SUBREAPER) failed")
    with open(log, "wb") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        for line in p.stderr:
            out.write(line)
            out.flush()
            if term_on and term_on.encode() in line:
                p.send_signal(signal.SIGTERM)
                term_on = None
        status = p.wait()
    print("exit %d" % status)
    # what is left right at exit (the workdir janitor, a fork of
    # containerize named containerize, is expected: it ends on its own)
    left = [describe(c)[0] or "?" for c in children()]
    print("orphans %s" % (" ".join(sorted(left)) if left else "none"))
    deadline = time.monotonic() + 20
    running = []
    while True:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
        running = [c for c in children() if describe(c)[1] not in (None, "Z")]
        if not running or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    names = [describe(c)[0] or "?" for c in running]
    print("running %s" % (" ".join(sorted(names)) if names else "none"))
    with open(log, errors="replace") as f:
        m = re.search(r"netns: (net:\[\d+\])", f.read())
    if m:
        print("netns-held %s" % ("yes" if netns_held(m.group(1)) else "no"))


if __name__ == "__main__":
    main()
