#!/usr/bin/env python3
"""Alpine secdb files (alpine-secdb's v3.N/main.yaml, community.yaml) ->
OSV JSON records, one file per CVE, the way osv.dev derives its ALPINE-
records: a secfixes entry "<version>-r<N>: [CVE-...]" of package P in
release v3.N becomes an affected entry {ecosystem "Alpine:v3.N", name P
(the aports origin, i.e. the source package), ranges ECOSYSTEM introduced
0, fixed <version>-r<N>}. The key "0" lists CVEs that never applied to the
Alpine package: it adds nothing. Every CVE gets one record, id
ALPINE-<CVE>, with the CVE as its alias, affected in every release and
package that fixed it.

usage: alpine-secdb-to-osv.py OUTDIR SECDB.yaml...
"""
import json
import os
import re
import sys

import yaml

IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def main():
    out, files = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    recs = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        release = doc["distroversion"]  # "v3.11"
        for item in doc.get("packages") or []:
            pkg = item["pkg"]
            for fixed, ids in (pkg.get("secfixes") or {}).items():
                fixed = str(fixed)
                if fixed == "0":
                    continue
                for ident in ids or []:
                    # entries are CVE ids; some carry a trailing remark
                    # ("CVE-2016-5403 XSA-184"), one a blank ("CVE 2018-16859")
                    ident = re.sub(r"^CVE (?=\d)", "CVE-", str(ident)).split()[0]
                    if not IDENT.match(ident):
                        continue
                    rec = recs.setdefault(ident, {"id": "ALPINE-" + ident, "aliases": [ident],
                                                  "summary": f"{ident} in Alpine packages",
                                                  "affected": []})
                    rec["affected"].append({
                        "package": {"ecosystem": "Alpine:" + release, "name": pkg["name"]},
                        "ranges": [{"type": "ECOSYSTEM",
                                    "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                    })
    for ident, rec in recs.items():
        with open(os.path.join(out, rec["id"] + ".json"), "w", encoding="utf-8") as f:
            json.dump(rec, f, indent=2)
    print(f"{len(recs)} records")


if __name__ == "__main__":
    main()
