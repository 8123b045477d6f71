#!/usr/bin/env bash
# va-scan end to end on the shared test data (../shared/data): the sample
# app's lockfile against the npm advisories (the expected set derived below
# from each advisory's ranges, not from our tool), PyPI's all.zip, Debian's
# DSA/DLA lists converted to OSV (va-scan/debian-list-to-osv.py), Alpine's
# secdb files converted to OSV (va-scan/alpine-secdb-to-osv.py), the
# compiled index, the policy (fail-on, ignore file with expiry, OpenVEX),
# and bad databases (corrupt index, truncated zip, bad record: exit 2
# naming the file).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=${PIPELINE_BIN:-$top/build/asan/bin}
data="$(cd "$top/.." && pwd)/shared/data"
failed=0
pass() { echo "PASS: va-scan/$1"; }
fail() { echo "FAIL: va-scan/$1${2:+: $2}"; failed=1; }
if [ ! -d "$data/advisories/npm" ] || [ ! -f "$data/app/package-lock.json" ]; then
	fail setup "test data missing: $data (../shared/data beside the repository, see its README)"
	exit 1
fi
for tool in jq python3; do command -v $tool >/dev/null || { fail setup "$tool is not installed"; exit 1; }; done
[ -x "$BIN/va-scan" ] || { fail setup "no $BIN/va-scan"; exit 1; }
W=$(mktemp -d /tmp/va-scan-test.XXXXXX)
trap 'rm -rf "$W"' EXIT
VA=$BIN/va-scan

# run NAME ARGS...: exit code in $rc, stdout in $W/NAME.out, stderr in $W/NAME.err
run() {
	local name=$1; shift
	rm -rf "$W/res-$name"
	"$VA" --results-dir="$W/res-$name" "$@" >"$W/$name.out" 2>"$W/$name.err"
	rc=$?
}
ids() { jq -r '[.findings[].id] | sort | join(" ")' "$1"; }

# ---- npm: the sample app's lockfile ------------------------------------------
# Locked versions (package-lock.json): axios 0.21.0, body-parser 1.19.0,
# cookie 0.4.0, express 4.17.1, jsonwebtoken 8.5.1, lodash 4.17.15,
# minimist 1.2.0, path-to-regexp 0.1.7, qs 6.7.0, send 0.17.1,
# serve-static 1.14.1, follow-redirects 1.16.3, ms 2.0.0/2.1.1/2.1.3,
# debug 2.6.9, fresh 0.5.2, mime 1.6.0, negotiator 0.6.3, semver 5.7.3.
# Affected (range from the advisory -> why):
#   GHSA-4w2v-q235-vp99 axios      [0, 0.21.1)          0.21.0 below the fix
#   GHSA-cph5-m8f7-6c5x axios      [0, 0.21.2)
#   GHSA-wf5p-g6vw-rhxx axios      [0.8.1, 1.6.0)
#   GHSA-qwcr-r2fm-qrc7 body-parser [0, 1.20.3)
#   GHSA-pxg6-pf52-xh8x cookie     [0, 0.7.0)
#   GHSA-qw6h-vgh9-j6wx express    [0, 4.20.0)
#   GHSA-rv95-896h-c2vc express    [0, 4.19.2)
#   GHSA-8cf7-32gw-wr33, GHSA-hjrf-2m68-5959, GHSA-qwph-4952-7xr6
#                       jsonwebtoken [0, 9.0.0)
#   GHSA-29mw-wpgm-hmr9, GHSA-35jh-r3h4-6jhm lodash [0, 4.17.21)
#   GHSA-p6mc-m468-83gw lodash     [0, 4.17.20)
#   GHSA-vh95-rmgr-6w4m minimist   [1.0.0, 1.2.3)
#   GHSA-xvch-5gv4-984h minimist   [1.0.0, 1.2.6)
#   GHSA-9wv6-86v2-598j path-to-regexp [0, 0.1.10)
#   GHSA-hrpp-h998-j3pp qs         [6.7.0, 6.7.3)       introduced exactly at 6.7.0
#   GHSA-m6fv-jmcg-4jfg send       [0, 0.19.0)
#   GHSA-cm22-4g7w-348p serve-static [0, 1.16.0)
# Not affected:
#   GHSA-27h2-hvpr-p74q jsonwebtoken: withdrawn
#   GHSA-8hc4-vh64-cxmj names "Axios" (npm names are case-sensitive) [1.3.2, 1.7.4)
#   GHSA-9qj9-36jm-prpv fresh fixed at 0.5.2 = the locked version
#   GHSA-9vvw-cc9w-f27h debug fixed at 2.6.9 = locked; [3.0.0, 3.1.0) above it
#   GHSA-c2qf-rxjj-qqgw semver fixed 5.7.2 < 5.7.3; GHSA-x6fg-f45m-jf5q fixed 4.3.2
#   GHSA-w9mr-4mfr-499f ms fixed 2.0.0 <= every ms; GHSA-3fx5-fwvr-xrjg fixed 0.7.1
#   GHSA-42xw-2xvc-qx8m axios fixed 0.18.1; follow-redirects fixed 1.14.8,
#   1.15.4, 1.15.6 (GHSA-74fj, -jchw, -cxjh, -pw2r) all below 1.16.3;
#   GHSA-c7hr (jsonwebtoken 4.2.2), GHSA-fvqr/-jf85/-x5rq (lodash 4.17.5,
#   4.17.12, 4.17.11), GHSA-gpvr (express 3.11.0 / [4.0.0, 4.5.0)),
#   GHSA-jjv7 (qs 1.0.0), GHSA-7mc5 (negotiator 0.6.1), GHSA-wrvr (mime
#   1.4.1 / [2.0.0, 2.0.3)), GHSA-xwg4 (send 0.8.4): fixed below the lock.
NPM_EXPECTED="GHSA-29mw-wpgm-hmr9 GHSA-35jh-r3h4-6jhm GHSA-4w2v-q235-vp99 GHSA-8cf7-32gw-wr33 GHSA-9wv6-86v2-598j GHSA-cm22-4g7w-348p GHSA-cph5-m8f7-6c5x GHSA-hjrf-2m68-5959 GHSA-hrpp-h998-j3pp GHSA-m6fv-jmcg-4jfg GHSA-p6mc-m468-83gw GHSA-pxg6-pf52-xh8x GHSA-qw6h-vgh9-j6wx GHSA-qwcr-r2fm-qrc7 GHSA-qwph-4952-7xr6 GHSA-rv95-896h-c2vc GHSA-vh95-rmgr-6w4m GHSA-wf5p-g6vw-rhxx GHSA-xvch-5gv4-984h"

run npm --db="$data/advisories/npm" --source="$data/app" --report-file="$W/npm.json" --fail-on=none
got=$(ids "$W/npm.json" 2>/dev/null)
if [ $rc = 0 ] && [ "$got" = "$NPM_EXPECTED" ]; then pass npm-app-exact-set
else fail npm-app-exact-set "exit $rc; got: $got; $(tail -3 "$W/npm.err")"; fi

# fields of a finding; xvch's CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H is 9.8
f=$(jq -c '.findings[] | select(.id == "GHSA-hrpp-h998-j3pp") | [.package, .version, .ecosystem, .fixed, .aliases[0]]' "$W/npm.json")
c=$(jq -c '.findings[] | select(.id == "GHSA-xvch-5gv4-984h") | [.severity, .score]' "$W/npm.json")
if [ "$f" = '["qs","6.7.0","npm","6.7.3","CVE-2022-24999"]' ] && [ "$c" = '["CRITICAL",9.8]' ]; then pass npm-finding-fields
else fail npm-finding-fields "$f $c"; fi
# the four advisories with a CVSS v4 vector are scored from it, not from
# their v3 one: FIRST's v4.0 calculator gives 8.7 (HIGH) for qwcr's
# AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N and 2.3 (LOW) for
# the AV:N/AC:L/AT:P/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L of cm22, m6fv
# and qw6h (whose v3 vectors score 5.0, MEDIUM)
v4=$(jq -r '.findings[] | select(.vector // "" | startswith("CVSS:4.0/")) | "\(.id) \(.severity) \(.score)"' "$W/npm.json" | sort | tr '\n' ' ')
if [ "$v4" = "GHSA-cm22-4g7w-348p LOW 2.3 GHSA-m6fv-jmcg-4jfg LOW 2.3 GHSA-qw6h-vgh9-j6wx LOW 2.3 GHSA-qwcr-r2fm-qrc7 HIGH 8.7 " ]; then
	pass npm-cvss-v4-scores
else fail npm-cvss-v4-scores "got: $v4"; fi
if [ "$(cat "$W/res-npm/scan-status")" = pass ] && [ "$(cat "$W/res-npm/critical-count")" = 1 ] &&
	[ "$(cat "$W/res-npm/findings")" = 19 ] && [ "$(cat "$W/res-npm/scan-report-file")" = "$W/npm.json" ] &&
	grep -q '^CRITICAL *GHSA-xvch-5gv4-984h *minimist *1.2.0 *1.2.6' "$W/npm.out"; then pass npm-results-and-table
else fail npm-results-and-table "$(grep . "$W/res-npm"/* | tr '\n' ' ')"; fi

# the default fail-on (high) fails: 6 high + 1 critical, exit 3 with the verdict written
run npm-high --db="$data/advisories/npm" --source="$data/app"
if [ $rc = 3 ] && grep -q "7 findings at or above fail-on 'high'" "$W/npm-high.err" &&
	[ "$(cat "$W/res-npm-high/scan-status" 2>/dev/null)" = fail ]; then pass fail-on-high
else fail fail-on-high "exit $rc: $(tail -1 "$W/npm-high.err")"; fi
run npm-report-only --db="$data/advisories/npm" --source="$data/app" --fail-on-scanned-issues=false
if [ $rc = 0 ] && [ "$(cat "$W/res-npm-report-only/high-count")" = 6 ]; then pass fail-on-scanned-issues-false
else fail fail-on-scanned-issues-false "exit $rc"; fi

# ---- the ignore file ---------------------------------------------------------
ign() { printf 'ignore:\n  - id: %s\n    package: minimist\n    reason: only parses our own argv\n    expires: %s\n' "$1" "$2" >"$W/ignore.yaml"; }
ign CVE-2021-44906 2999-01-01 # xvch's alias
run ign --db="$data/advisories/npm" --source="$data/app" --fail-on=critical --ignore-file="$W/ignore.yaml" --report-file="$W/ign.json"
sup=$(jq -r '.findings[] | select(.id == "GHSA-xvch-5gv4-984h") | .suppressed' "$W/ign.json" 2>/dev/null)
if [ $rc = 0 ] && [[ "$sup" == *"only parses our own argv"* ]]; then pass ignore-file
else fail ignore-file "exit $rc: $sup $(tail -1 "$W/ign.err")"; fi
ign CVE-2021-44906 2021-01-01
run ign-expired --db="$data/advisories/npm" --source="$data/app" --fail-on=critical --ignore-file="$W/ignore.yaml"
if [ $rc = 3 ] && grep -q "ignore entry for CVE-2021-44906 expired on 2021-01-01" "$W/ign-expired.err"; then pass ignore-expired
else fail ignore-expired "exit $rc: $(tail -2 "$W/ign-expired.err")"; fi
printf 'ignore:\n  - id: GHSA-xvch-5gv4-984h\n' >"$W/noreason.yaml"
run ign-bad --db="$data/advisories/npm" --source="$data/app" --ignore-file="$W/noreason.yaml"
if [ $rc = 2 ] && grep -q "noreason.yaml:2: ignoring GHSA-xvch-5gv4-984h needs a reason" "$W/ign-bad.err"; then pass ignore-needs-reason
else fail ignore-needs-reason "exit $rc: $(tail -1 "$W/ign-bad.err")"; fi

# ---- OpenVEX -------------------------------------------------------------------
vex() { # justification
	cat >"$W/vex.json" <<VEX
{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "t",
 "timestamp": "2024-01-01T00:00:00Z", "version": 1,
 "statements": [{"vulnerability": {"name": "CVE-2021-44906"},
   "products": [{"@id": "pkg:npm/minimist@1.2.0"}], "status": "not_affected"$1}]}
VEX
}
vex ', "justification": "vulnerable_code_not_in_execute_path"'
run vex --db="$data/advisories/npm" --source="$data/app" --fail-on=critical --vex="$W/vex.json"
if [ $rc = 0 ] && grep -q "VEX not_affected (vulnerable_code_not_in_execute_path)" "$W/vex.out"; then pass vex-not-affected
else fail vex-not-affected "exit $rc: $(tail -1 "$W/vex.err")"; fi
vex ''
run vex-nojust --db="$data/advisories/npm" --source="$data/app" --fail-on=critical --vex="$W/vex.json"
if [ $rc = 3 ] && grep -q "not_affected without a justification: not applied" "$W/vex-nojust.err"; then pass vex-needs-justification
else fail vex-needs-justification "exit $rc"; fi

# ---- the compiled index ----------------------------------------------------------
run idx --db="$data/advisories/npm" --index-file="$W/npm.idx"
run idx-scan --db="$W/npm.idx" --source="$data/app" --report-file="$W/idx.json" --fail-on=none
if [ $rc = 0 ] && [ "$(ids "$W/idx.json")" = "$NPM_EXPECTED" ]; then pass index-same-findings
else fail index-same-findings "exit $rc: $(tail -1 "$W/idx-scan.err")"; fi
cp "$W/npm.idx" "$W/flip.idx"
printf 'X' | dd of="$W/flip.idx" bs=1 seek=4000 conv=notrunc 2>/dev/null
run idx-flip --db="$W/flip.idx" --source="$data/app"
if [ $rc = 2 ] && grep -q "advisory index $W/flip.idx is corrupt or truncated (checksum mismatch)" "$W/idx-flip.err"; then
	pass index-corrupt-refused
else fail index-corrupt-refused "exit $rc: $(tail -1 "$W/idx-flip.err")"; fi
head -c 3000 "$W/npm.idx" >"$W/short.idx"
run idx-short --db="$W/short.idx" --source="$data/app"
if [ $rc = 2 ] && grep -q "advisory index $W/short.idx is corrupt or truncated (its size is not the one its header records)" "$W/idx-short.err"; then
	pass index-truncated-refused
else fail index-truncated-refused "exit $rc: $(tail -1 "$W/idx-short.err")"; fi

# ---- PyPI: all.zip (osv-scanner's offline layout) --------------------------------
# PyYAML 5.3: PYSEC-2020-96 [5.1, 5.3.1) and PYSEC-2021-142 [0, 5.4) affect
# it; PYSEC-2018-49 (fixed 5.1) and PYSEC-2020-176 ([5.1, 5.2b1)) do not.
# Jinja2 2.10: PYSEC-2019-217 [0, 2.10.1) and PYSEC-2021-66 [0, 2.11.3);
# not PYSEC-2014-8 (2.7.2), PYSEC-2014-82 (2.7.3), PYSEC-2019-220 (2.8.1).
# Dist names are spelled PyYAML / Jinja2, the advisories pyyaml / jinja2
# (PEP 503 normalisation).
mkdir -p "$W/py/osv-scanner/PyPI" "$W/pytree/lib/python3/site-packages/PyYAML-5.3.dist-info" \
	"$W/pytree/lib/python3/site-packages/Jinja2-2.10.dist-info"
cp "$data/advisories/PyPI/all.zip" "$W/py/osv-scanner/PyPI/all.zip"
printf 'Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3\n' >"$W/pytree/lib/python3/site-packages/PyYAML-5.3.dist-info/METADATA"
printf 'Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\n' >"$W/pytree/lib/python3/site-packages/Jinja2-2.10.dist-info/METADATA"
run pypi --db="$W/py" --source="$W/pytree" --report-file="$W/pypi.json" --fail-on=none
got=$(ids "$W/pypi.json" 2>/dev/null)
if [ $rc = 0 ] && [ "$got" = "PYSEC-2019-217 PYSEC-2020-96 PYSEC-2021-142 PYSEC-2021-66" ] &&
	grep -q "$W/py: 2651 advisories (10 withdrawn ones left out)" "$W/pypi.err"; then pass pypi-all-zip
else fail pypi-all-zip "exit $rc: $got $(tail -2 "$W/pypi.err")"; fi

# a truncated zip, and a zip with a record that is not OSV: exit 2 naming file and entry
head -c 1300000 "$data/advisories/PyPI/all.zip" >"$W/trunc.zip" # about half
run zip-trunc --db="$W/trunc.zip" --source="$W/pytree"
if [ $rc = 2 ] && grep -q "$W/trunc.zip: not a readable zip (truncated" "$W/zip-trunc.err"; then pass zip-truncated-refused
else fail zip-truncated-refused "exit $rc: $(tail -1 "$W/zip-trunc.err")"; fi
python3 - "$W/bad.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("GOOD-1.json", '{"id": "GOOD-1", "affected": []}')
    z.writestr("BAD-2.json", '{"id": "BAD-2", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": 5}]}]}]}')
PY
run zip-bad --db="$W/bad.zip" --source="$W/pytree"
if [ $rc = 2 ] && grep -q "$W/bad.zip: entry BAD-2.json (BAD-2): affected\[0\].ranges\[0\].events\[0\]: needs exactly one of" "$W/zip-bad.err"; then
	pass zip-bad-record-refused
else fail zip-bad-record-refused "exit $rc: $(tail -1 "$W/zip-bad.err")"; fi

# ---- Debian: the tracker's lists as OSV -----------------------------------------
# bullseye (Debian:11) rootfs. apache2-bin (Source: apache2) 2.4.52-1~deb11u2:
# bullseye lines for apache2 are DSA-4982-1 (2.4.51-1~deb11u1), DSA-5035-1
# (2.4.52-1~deb11u2, = installed: fixed) and DSA-5376-1 (2.4.56-1~deb11u1:
# affected). libsox3 (Source: sox) 14.4.2+git20190427-2+deb11u1: DSA-5356-1
# fixed at that version, the regression update DSA-5356-2 at ...+deb11u2:
# affected. thunderbird 1:102.9.0-1~deb11u1 is the newest fix (DSA-5375-1):
# none. No DLA has bullseye lines.
python3 "$here/va-scan/debian-list-to-osv.py" "$W/deb" "$data/advisories/Debian/DSA.list" \
	"$data/advisories/Debian/DLA.list" >/dev/null || fail debian-convert "converter failed"
mkdir -p "$W/rootfs/etc" "$W/rootfs/var/lib/dpkg"
printf 'ID=debian\nVERSION_ID="11"\nVERSION_CODENAME=bullseye\n' >"$W/rootfs/etc/os-release"
cat >"$W/rootfs/var/lib/dpkg/status" <<'ST'
Package: apache2-bin
Status: install ok installed
Architecture: amd64
Source: apache2
Version: 2.4.52-1~deb11u2

Package: libsox3
Status: install ok installed
Architecture: amd64
Source: sox
Version: 14.4.2+git20190427-2+deb11u1

Package: thunderbird
Status: install ok installed
Architecture: amd64
Version: 1:102.9.0-1~deb11u1
ST
run deb --db="$W/deb" --source="$W/rootfs" --report-file="$W/deb.json" --fail-on=none
got=$(jq -r '[.findings[] | "\(.id):\(.package):\(.ecosystem):\(.fixed)"] | sort | join(" ")' "$W/deb.json" 2>/dev/null)
if [ $rc = 0 ] && [ "$got" = "DSA-5356-2:sox:Debian:11:14.4.2+git20190427-2+deb11u2 DSA-5376-1:apache2:Debian:11:2.4.56-1~deb11u1" ]; then
	pass debian-lists-by-source-package
else fail debian-lists-by-source-package "exit $rc: $got $(tail -2 "$W/deb.err")"; fi

# ---- Alpine: the secdb files as OSV ---------------------------------------------
# va-scan/alpine-secdb-to-osv.py turns every secfixes entry into an
# ALPINE-<CVE> record (ecosystem Alpine:v3.N, the origin package, fixed at
# the key). An Alpine 3.11 root (lib/apk/db/installed), expected by hand
# from v3.11/main.yaml with apk's ordering:
#   openssh-client (o:openssh) 7.9_p1-r2 < 7.9_p1-r3 (only the -r differs):
#     CVE-2018-20685, CVE-2019-6109, CVE-2019-6111; the older fixes
#     7.7_p1-r4, 7.5_p1-r8, 7.4_p1-r0 are below it
#   ncurses-libs (o:ncurses) 6.1-r0 < 6.1_p20180414-r0 (_p sorts after the
#     plain version): CVE-2018-10754; 6.0_p20171125-r0, 6.0_p20170701-r0
#     are below it
#   musl 1.1.22-r3 < 1.1.23-r2, v3.11's fix: CVE-2019-14697 (v3.10 fixed it
#     at 1.1.22-r3 itself: on a 3.10 root, below, the same package is fixed)
#   jq 1.6-r0 > 1.6_rc1-r0 (_rc sorts before the release): none
#   busybox 1.31.1-r9 above 1.30.1-r2 (the newest fix): none
python3 "$here/va-scan/alpine-secdb-to-osv.py" "$W/alpine" "$data"/advisories/Alpine/v3.*/*.yaml >/dev/null ||
	fail alpine-convert "converter failed"
apk_root() { # DIR VERSION_ID "P V o"...
	local dir=$1 rel=$2; shift 2
	mkdir -p "$dir/etc" "$dir/lib/apk/db"
	printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=%s\n' "$rel" >"$dir/etc/os-release"
	: >"$dir/lib/apk/db/installed"
	for p in "$@"; do
		set -- $p
		printf 'C:Q1aaaaaaaaaaaaaaaaaaaaaaaaaaa=\nP:%s\nV:%s\nA:x86_64\nS:1000\nI:4000\nT:%s\nL:MIT\no:%s\n\n' \
			"$1" "$2" "$1" "$3" >>"$dir/lib/apk/db/installed"
	done
}
apk_root "$W/alpine311" 3.11.6 "openssh-client 7.9_p1-r2 openssh" "ncurses-libs 6.1-r0 ncurses" \
	"musl 1.1.22-r3 musl" "jq 1.6-r0 jq" "busybox 1.31.1-r9 busybox"
run alpine --db="$W/alpine" --source="$W/alpine311" --report-file="$W/alpine.json" --fail-on=none
got=$(jq -r '[.findings[] | "\(.id):\(.package):\(.version):\(.ecosystem):\(.fixed)"] | sort | join(" ")' "$W/alpine.json" 2>/dev/null)
want="ALPINE-CVE-2018-10754:ncurses:6.1-r0:Alpine:v3.11:6.1_p20180414-r0"
want+=" ALPINE-CVE-2018-20685:openssh:7.9_p1-r2:Alpine:v3.11:7.9_p1-r3"
want+=" ALPINE-CVE-2019-14697:musl:1.1.22-r3:Alpine:v3.11:1.1.23-r2"
want+=" ALPINE-CVE-2019-6109:openssh:7.9_p1-r2:Alpine:v3.11:7.9_p1-r3"
want+=" ALPINE-CVE-2019-6111:openssh:7.9_p1-r2:Alpine:v3.11:7.9_p1-r3"
if [ $rc = 0 ] && [ "$got" = "$want" ]; then pass alpine-apk-ordering-and-origin
else fail alpine-apk-ordering-and-origin "exit $rc: got $got $(tail -2 "$W/alpine.err")"; fi
apk_root "$W/alpine310" 3.10.9 "musl 1.1.22-r3 musl"
run alpine310 --db="$W/alpine" --source="$W/alpine310" --report-file="$W/alpine310.json" --fail-on=none
if [ $rc = 0 ] && [ "$(jq '.findings | length' "$W/alpine310.json" 2>/dev/null)" = 0 ]; then pass alpine-release-scoped
else fail alpine-release-scoped "exit $rc: $(ids "$W/alpine310.json") $(tail -2 "$W/alpine310.err")"; fi

# ---- the same inventories through bom's CycloneDX (BOM and scan agree) -------
BOM=$BIN/bom
if [ -x "$BOM" ]; then
	"$BOM" --source="$data/app" --output="$W/app.cdx.json" 2>/dev/null
	run bom-npm --db="$data/advisories/npm" --bom="$W/app.cdx.json" --report-file="$W/bom-npm.json" --fail-on=none
	if [ $rc = 0 ] && [ "$(ids "$W/bom-npm.json")" = "$NPM_EXPECTED" ]; then pass bom-npm-same-findings
	else fail bom-npm-same-findings "exit $rc: $(tail -1 "$W/bom-npm.err")"; fi
	"$BOM" --source="$W/rootfs" --output="$W/deb.cdx.json" 2>/dev/null
	run bom-deb --db="$W/deb" --bom="$W/deb.cdx.json" --report-file="$W/bom-deb.json" --fail-on=none
	if [ $rc = 0 ] && [ "$(ids "$W/bom-deb.json")" = "DSA-5356-2 DSA-5376-1" ]; then pass bom-debian-keeps-source-and-release
	else fail bom-debian-keeps-source-and-release "exit $rc: $(ids "$W/bom-deb.json") $(tail -1 "$W/bom-deb.err")"; fi
else
	fail bom "no $BOM"
fi

# ---- an OCI layout: layers streamed, whiteouts applied -------------------------
# layer 1: the bullseye rootfs above and the app's lockfile; layer 2 deletes
# the lockfile (a whiteout): only the two Debian advisories remain
mkdir -p "$W/alldb" && cp -r "$W/deb" "$data/advisories/npm" "$W/alldb/"
cat >"$W/spec.json" <<JSON
{"layers": [
  [{"path": "etc/os-release", "file": "$W/rootfs/etc/os-release"},
   {"path": "var/lib/dpkg/status", "file": "$W/rootfs/var/lib/dpkg/status"},
   {"path": "app/package-lock.json", "file": "$data/app/package-lock.json"}],
  [{"path": "app/.wh.package-lock.json"}]
]}
JSON
python3 "$here/bom/image.py" "$W/spec.json" "$W/layout" v1 >/dev/null
run oci --db="$W/alldb" --oci-layout="oci:$W/layout:v1" --report-file="$W/oci.json" --fail-on=none
if [ $rc = 0 ] && [ "$(ids "$W/oci.json")" = "DSA-5356-2 DSA-5376-1" ]; then pass oci-layout-whiteouts
else fail oci-layout-whiteouts "exit $rc: $(ids "$W/oci.json") $(tail -1 "$W/oci.err")"; fi
# a registry that is down: exit 5; a layout without the tag: exit 2
run regdown --db="$W/alldb" --image=127.0.0.1:9/app:v1 --retries=0
if [ $rc = 5 ]; then pass registry-down-exit-5; else fail registry-down-exit-5 "exit $rc: $(tail -1 "$W/regdown.err")"; fi
run notag --db="$W/alldb" --oci-layout="oci:$W/layout:nosuchtag"
if [ $rc = 2 ] && grep -q nosuchtag "$W/notag.err"; then pass image-not-found-exit-2
else fail image-not-found-exit-2 "exit $rc: $(tail -1 "$W/notag.err")"; fi

# ---- a version no ordering accepts: reported, never "not affected" -------------
mkdir -p "$W/badver"
jq '.packages["node_modules/lodash"].version = "4.17.x-custom"' "$data/app/package-lock.json" >"$W/badver/package-lock.json"
run badver --db="$data/advisories/npm" --source="$W/badver" --report-file="$W/badver.json" --fail-on=none
e=$(jq -r '[.findings[] | select(.package == "lodash") | .error] | first' "$W/badver.json" 2>/dev/null)
if [ $rc = 3 ] && [[ "$e" == *"invalid SemVer version '4.17.x-custom'"* ]]; then pass invalid-version-reported
else fail invalid-version-reported "exit $rc: $e"; fi

exit $failed
