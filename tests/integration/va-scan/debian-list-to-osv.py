#!/usr/bin/env python3
"""Debian security tracker DSA/DLA lists -> OSV JSON records, one file per
advisory, the way osv.dev derives its DSA-/DLA- records (read FORMAT.md
beside the lists): a release line "[bullseye] - pkg F" becomes an affected
entry {ecosystem "Debian:11", name pkg (a source package), ranges ECOSYSTEM
introduced 0, fixed F}; <unfixed> and <end-of-life> leave the range open;
<not-affected> adds nothing. The CVE set becomes the aliases.

usage: debian-list-to-osv.py OUTDIR LIST...
"""
import json
import os
import re
import sys

RELEASES = {"woody": "3.0", "sarge": "3.1", "etch": "4.0", "lenny": "5.0", "squeeze": "6.0",
            "wheezy": "7", "jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11",
            "bookworm": "12", "trixie": "13"}
HEADER = re.compile(r"^\[(\d\d) (\w\w\w) (\d{4})\] (D[SL]A-[0-9]+(?:-[0-9]+)?)\s*(.*)$")
RELEASE = re.compile(r"^\s+\[(\w+)\]\s+-\s+(\S+)\s+(\S+)")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def records(path):
    rec = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = HEADER.match(line)
            if m:
                if rec:
                    yield rec
                day, mon, year, ident, rest = m.groups()
                rec = {"id": ident, "published": f"{year}-{MONTHS.index(mon) + 1:02d}-{day}T00:00:00Z",
                       "summary": rest.strip(), "aliases": [], "affected": []}
                continue
            if rec is None or not line.strip():
                continue
            s = line.strip()
            if s.startswith("{"):
                rec["aliases"] += s.strip("{}").split()
            elif s.startswith("NOTE:"):
                continue
            else:
                m = RELEASE.match(line)
                if not m or m.group(1) not in RELEASES:
                    continue
                release, pkg, fixed = m.groups()
                if fixed == "<not-affected>":
                    continue
                events = [{"introduced": "0"}]
                if not fixed.startswith("<"):
                    events.append({"fixed": fixed})
                rec["affected"].append({"package": {"ecosystem": "Debian:" + RELEASES[release], "name": pkg},
                                        "ranges": [{"type": "ECOSYSTEM", "events": events}]})
    if rec:
        yield rec


def main():
    out, lists = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    n = 0
    for path in lists:
        for rec in records(path):
            if not rec["affected"]:
                continue
            rec["modified"] = rec["published"]
            name = os.path.join(out, rec["id"] + ".json")
            if os.path.exists(name):  # a few old ids repeat: keep the newest (first listed)
                continue
            with open(name, "w", encoding="utf-8") as f:
                json.dump(rec, f, indent=2)
            n += 1
    print(n)


main()
