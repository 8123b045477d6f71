#!/usr/bin/env bash
# bin/bom against oracles and its inputs' worst cases:
#  - CycloneDX 1.5 and SPDX 2.3 documents follow their schemas' rules
#    (tests/integration/bom/schema.py, the rules written out with clauses);
#  - npm components of the sample package-lock equal @cyclonedx/cdxgen's
#    (pinned, installed under build/ by `make cdxgen`, run offline);
#  - deb components of a root filesystem (this machine's dpkg database)
#    equal `dpkg-query -W --admindir`, from a tree, an OCI layout, an
#    oci-archive and the same image in Debian's docker-registry;
#  - layers are applied in order: whiteouts and opaque directories hide
#    what lower layers installed; the libraries our static binaries embed
#    are read from the image (as their --version lists them);
#  - bad input: malformed status / lockfile / METADATA (error naming file
#    and line, or a warning in an image), hostile layer names, an image
#    that does not exist (2), a registry that is down (5).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
servers=$here/../servers
bin=${PIPELINE_BIN:-$root/build/asan/bin}/bom
static=${PIPELINE_STATIC_BIN:-$root/bin}
build=${PIPELINE_BUILD:-$root/build}
data=$(cd "$root/.." && pwd)/shared/data
work=$(mktemp -d)
fails=0
cleanup() {
	"$servers/registry.sh" stop "$work/reg" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
pass() { echo "PASS: bom-$1"; }
fail() { echo "FAIL: bom-$1${2:+ ($2)}"; fails=$((fails + 1)); }
quiet() { "$@" >/dev/null; }
check() { # name command...
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; return 1; fi
}
for tool in jq python3 dpkg-query docker-registry skopeo node npm; do
	command -v "$tool" >/dev/null || { fail "tool-$tool" "$tool is not installed (tests/setup-debian.sh)"; exit 1; }
done
[ -f "$data/app/package-lock.json" ] || { fail test-data "$data/app/package-lock.json is missing: ../shared/data must be beside the repository"; exit 1; }
[ -x "$bin" ] || { fail binary "$bin is not built"; exit 1; }

# @cyclonedx/cdxgen, pinned (the npm oracle); its data/spdx.schema.json is
# CycloneDX's published license list, which license ids must come from
if ! make -s -C "$root" BUILD="$build" cdxgen >"$work/cdxgen-install.log" 2>&1; then
	fail cdxgen-install "make cdxgen failed (npm registry unreachable?): $(tail -3 "$work/cdxgen-install.log")"
	exit 1
fi
cdxgen=$(ls "$build"/oracle/cdxgen-*/node_modules/.bin/cdxgen | head -1)
license_ids=$(dirname "$(readlink -f "$cdxgen")")/../data/spdx.schema.json
[ -f "$license_ids" ] || { fail license-list "$license_ids is missing"; exit 1; }
schema() { python3 "$here/bom/schema.py" "$1" "$2" "$license_ids"; }
bom() { "$bin" --results-dir="$work/res" "$@"; }
# name version purl of the npm / deb components, sorted
npm_of() { jq -r '.components[] | select((.purl // "") | startswith("pkg:npm/")) | [.name, .version, .purl] | @tsv' "$1" | sort; }
prop() { # property name -> jq filter of components having it equal to $v
	echo "(.properties // []) | map(select(.name == \"$1\")) | .[0].value"
}

# ---- 1. the sample app: schema rules, cdxgen oracle, results ----
bom --source="$data/app" --output="$work/app.cdx.json" 2>"$work/app.log"
check app-exit test $? = 0
check app-cyclonedx-schema schema cyclonedx "$work/app.cdx.json"
check app-results test "$(cat "$work/res/bom-file")" = "$work/app.cdx.json" -a \
	"$(cat "$work/res/component-count")" = "$(jq '.components | length' "$work/app.cdx.json")"
check app-count-68 test "$(cat "$work/res/component-count")" = 68
bom --source="$data/app" --output="$work/app.spdx.json" --format=spdx 2>/dev/null
check app-spdx-schema schema spdx "$work/app.spdx.json"
check app-spdx-purls test "$(jq -r '.packages[].externalRefs[].referenceLocator' "$work/app.spdx.json" | sort)" = \
	"$(jq -r '.components[].purl' "$work/app.cdx.json" | sort)"
# npm dependencies: express needs body-parser (lockfile: ^1.19.0 -> the installed one)
check app-dependencies test "$(jq -r '.dependencies[] | select(.ref == "pkg:npm/express@4.17.1") | .dependsOn[]' "$work/app.cdx.json" | grep -c '^pkg:npm/body-parser@')" = 1
check app-spdx-depends-on test "$(jq '[.relationships[] | select(.relationshipType == "DEPENDS_ON")] | length' "$work/app.spdx.json")" = \
	"$(jq '[.dependencies[].dependsOn[]] | length' "$work/app.cdx.json")"
# the schema checker itself catches a broken document
jq '.components[0].type = "gadget" | .components[1]["bom-ref"] = .components[0]["bom-ref"] |
    .components[2].licenses = [{"license": {"id": "UNLICENSED"}}]' "$work/app.cdx.json" >"$work/broken.json"
schema cyclonedx "$work/broken.json" >"$work/broken.out"
check schema-checker-catches grep -q "not in the 1.5 enum" "$work/broken.out"
check schema-checker-catches-duplicate-ref grep -q "duplicate bom-ref" "$work/broken.out"
check schema-checker-catches-license-id grep -q "'UNLICENSED' is not in spdx.schema.json's enum" "$work/broken.out"

mkdir -p "$work/cdx-app" && cp "$data/app/package.json" "$data/app/package-lock.json" "$work/cdx-app/"
(cd "$work/cdx-app" && "$cdxgen" --no-install-deps -t js -o "$work/cdxgen.json" . >"$work/cdxgen.log" 2>&1)
if [ -s "$work/cdxgen.json" ]; then
	npm_of "$work/cdxgen.json" >"$work/npm.cdxgen"
	npm_of "$work/app.cdx.json" >"$work/npm.ours"
	check npm-equals-cdxgen diff "$work/npm.cdxgen" "$work/npm.ours"
	check npm-cdxgen-nonempty test "$(wc -l <"$work/npm.cdxgen")" -gt 60
else
	fail npm-equals-cdxgen "cdxgen wrote nothing: $(tail -3 "$work/cdxgen.log")"
fi

# ---- 2. a root filesystem from this machine's dpkg database ----
rootfs=$work/rootfs
mkdir -p "$rootfs/var/lib/dpkg" "$rootfs/etc" "$rootfs/usr/lib"
cp /var/lib/dpkg/status "$rootfs/var/lib/dpkg/status"
cp /usr/lib/os-release "$rootfs/usr/lib/os-release"
ln -s ../usr/lib/os-release "$rootfs/etc/os-release"
dpkg-query -W -f '${Package} ${Version}\n' --admindir="$rootfs/var/lib/dpkg" | sort -u >"$work/dpkg.oracle"
deb_of() { jq -r ".components[] | select((.purl // \"\") | startswith(\"pkg:deb/\")) | select($(prop bom:path) == \"var/lib/dpkg/status\") | \"\\(.name) \\(.version)\"" "$1" | sort -u; }
bom --source="$rootfs" --output="$work/rootfs.json" 2>"$work/rootfs.log"
check rootfs-exit test $? = 0
deb_of "$work/rootfs.json" >"$work/dpkg.ours"
check dpkg-equals-dpkg-query diff "$work/dpkg.oracle" "$work/dpkg.ours"
check dpkg-nonempty test "$(wc -l <"$work/dpkg.oracle")" -gt 50
check rootfs-cyclonedx-schema schema cyclonedx "$work/rootfs.json"
# Source: and source versions, as dpkg-query reads them
dpkg-query -W -f '${Package} ${source:Package} ${source:Version}\n' --admindir="$rootfs/var/lib/dpkg" | sort -u >"$work/src.oracle"
jq -r ".components[] | select((.purl // \"\") | startswith(\"pkg:deb/\")) | select($(prop bom:path) == \"var/lib/dpkg/status\") | \"\\(.name) \\($(prop bom:source-name)) \\($(prop bom:source-version))\"" "$work/rootfs.json" | sort -u >"$work/src.ours"
check dpkg-source-equals-dpkg-query diff "$work/src.oracle" "$work/src.ours"
. /usr/lib/os-release
check deb-purl-distro quiet jq -e --arg d "distro=$ID-$VERSION_ID" '[.components[] | select((.purl // "") | startswith("pkg:deb/")) | .purl | contains($d)] | all' "$work/rootfs.json"
check os-component quiet jq -e --arg id "$ID" '.components[] | select(.type == "operating-system") | .name == $id' "$work/rootfs.json"

# ---- 2b. Python: what importlib.metadata finds in the same directory ----
# (this machine's dist-packages: dist-info, egg-info directories; plus an
# egg-info file as distutils writes one)
py=$work/py
mkdir -p "$py"
for d in /usr/lib/python3/dist-packages/*.dist-info /usr/lib/python3/dist-packages/*.egg-info; do
	[ -d "$d" ] || continue
	mkdir -p "$py/$(basename "$d")"
	for f in METADATA PKG-INFO; do [ -f "$d/$f" ] && cp "$d/$f" "$py/$(basename "$d")/"; done
done
printf 'Metadata-Version: 1.1\nName: legacy_pkg\nVersion: 0.3\nLicense: MIT\n' >"$py/legacy_pkg-0.3.egg-info"
python3 -c 'import importlib.metadata as m, sys
for d in m.distributions(path=[sys.argv[1]]): print(d.metadata["Name"], d.version)' "$py" | sort >"$work/py.oracle"
bom --source="$py" --output="$work/py.json" 2>"$work/py.log"
check python-exit test $? = 0
jq -r '.components[] | select(.purl | startswith("pkg:pypi/")) | "\(.name) \(.version)"' "$work/py.json" | sort >"$work/py.ours"
check python-equals-importlib-metadata diff "$work/py.oracle" "$work/py.ours"
check python-nonempty test "$(wc -l <"$work/py.oracle")" -gt 5
check python-egg-info-file grep -qx 'legacy_pkg 0.3' "$work/py.ours"

# ---- 3. the same root as an image, in layers, with whiteouts ----
bombin=$static/bom
[ -x "$bombin" ] || bombin=$bin
cat >"$work/spec.json" <<JSON
{"layers": [
  [{"path": "var/lib/dpkg/status", "file": "/var/lib/dpkg/status"},
   {"path": "usr/lib/os-release", "file": "/usr/lib/os-release"},
   {"path": "etc/os-release", "symlink": "../usr/lib/os-release"},
   {"path": "var/lib/dpkg/status.d", "dir": true},
   {"path": "var/lib/dpkg/status.d/hidden", "text": "Package: hidden-by-opaque\nVersion: 1.0\n"},
   {"path": "app/package-lock.json", "file": "$data/app/package-lock.json"},
   {"path": "app/node_modules/express/package.json", "text": "{\"name\": \"express\", \"version\": \"4.17.1\", \"license\": \"MIT\"}"},
   {"path": "app/node_modules/minimist/package.json", "text": "{\"name\": \"minimist\", \"version\": \"1.2.0\"}"},
   {"path": "app/node_modules/minimist-options/package.json", "text": "{\"name\": \"minimist-options\", \"version\": \"4.1.0\", \"license\": \"(mit OR Apache-2.0)\"}"},
   {"path": "app/node_modules/private/package.json", "text": "{\"name\": \"private\", \"version\": \"0.0.1\", \"license\": \"UNLICENSED\"}"},
   {"path": "app/node_modules/@scope/pkg/package.json", "text": "{\"name\": \"@scope/pkg\", \"version\": \"2.0.0\"}"},
   {"path": "usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA", "text": "Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\nLicense: BSD-3-Clause\n\nbody\n"},
   {"path": "opt/old/x.egg-info/PKG-INFO", "text": "Name: removed-egg\nVersion: 0.1\n"},
   {"path": "task", "file": "$bombin", "mode": 493}],
  [{"path": "app/node_modules/.wh.minimist"},
   {"path": "var/lib/dpkg/status.d/distroless", "text": "Package: distroless-pkg\nSource: distroless-src (0.9)\nVersion: 1.0\n"},
   {"path": "var/lib/dpkg/status.d/.wh..wh..opq"},
   {"path": "opt/.wh.old"}]
]}
JSON
python3 "$here/bom/image.py" "$work/spec.json" "$work/layout" v1 >"$work/layout.digest"
bom --oci-layout="oci:$work/layout:v1" --output="$work/image.json" 2>"$work/image.log"
check image-exit test $? = 0 || sed 's/^/    /' "$work/image.log"
check image-cyclonedx-schema schema cyclonedx "$work/image.json"
deb_of "$work/image.json" >"$work/dpkg.image"
check image-dpkg-equals-dpkg-query diff "$work/dpkg.oracle" "$work/dpkg.image"
has() { jq -e --arg n "$2" '[.components[] | select(.name == $n)] | length > 0' "$1" >/dev/null; }
hasnt() { ! has "$@"; }
check image-whiteout-minimist test "$(jq '[.components[] | select(.name == "minimist") | select(('"$(prop bom:path)"') | test("node_modules"))] | length' "$work/image.json")" = 0
# the whiteout of minimist is not one of the names it prefixes
check image-whiteout-spares-prefixed test "$(jq '[.components[] | select(.name == "minimist-options")] | length' "$work/image.json")" = 1
check image-node-modules-kept test "$(jq '[.components[] | select(.name == "express") | select(('"$(prop bom:path)"') == "app/node_modules/express/package.json")] | length' "$work/image.json")" = 1
check image-scoped-npm quiet jq -e '.components[] | select(.name == "@scope/pkg") | .purl == "pkg:npm/%40scope/pkg@2.0.0"' "$work/image.json"
check image-opaque-hides hasnt "$work/image.json" hidden-by-opaque
# an opaque marker hides the lower layers' files only: distroless-pkg,
# earlier in the same layer's tar, stays
check image-status-d has "$work/image.json" distroless-pkg
check image-status-d-source quiet jq -e '.components[] | select(.name == "distroless-pkg") | ('"$(prop bom:source-name)"') == "distroless-src" and ('"$(prop bom:source-version)"') == "0.9"' "$work/image.json"
check image-dir-whiteout-hides hasnt "$work/image.json" removed-egg
# licenses: an id of the SPDX list, a lone expression (ids in the list's
# spelling), a name for what is no id (both schemas checked above)
check license-id quiet jq -e '[.components[] | select(.name == "express" and any(.properties[]; .value == "app/node_modules/express/package.json"))] | .[0].licenses == [{"license": {"id": "MIT"}}]' "$work/image.json"
check license-expression quiet jq -e '.components[] | select(.name == "minimist-options") | .licenses == [{"expression": "(MIT OR Apache-2.0)"}]' "$work/image.json"
check license-name quiet jq -e '.components[] | select(.name == "private") | .licenses == [{"license": {"name": "UNLICENSED"}}]' "$work/image.json"
check image-python quiet jq -e '.components[] | select(.name == "Jinja2") | .purl == "pkg:pypi/jinja2@3.1.2" and .licenses[0].license.id == "BSD-3-Clause"' "$work/image.json"
check image-npm-lock test "$(jq '[.components[] | select(('"$(prop bom:path)"') == "app/package-lock.json")] | length' "$work/image.json")" = 68
# distroless-pkg came from the second layer: its digest is recorded
layer2=$(jq -r '.layers[1].digest' "$work/layout/blobs/sha256/$(jq -r '.manifests[0].digest' "$work/layout/index.json" | cut -d: -f2)")
check image-layer-recorded quiet jq -e --arg l "$layer2" \
	'[.components[] | select(.name == "distroless-pkg") | .properties[] | select(.name == "bom:layer") | .value] == [$l]' "$work/image.json"
check image-subject-digest test "$(jq -r '.metadata.component.version' "$work/image.json")" = "$(cat "$work/layout.digest")"
# the libraries the static binary embeds, as its --version lists them
"$bombin" --version | sed -n 's/^  \([^ ]*\) \([^ ]*\) .*/\1 \2/p' | sort -u >"$work/embedded.oracle"
jq -r '.components[] | select(('"$(prop bom:path)"') == "task") | "\('"$(prop bom:source-name)"') \(.version)"' "$work/image.json" | sort -u >"$work/embedded.ours"
check static-binary-embedded-versions diff "$work/embedded.oracle" "$work/embedded.ours"
check static-binary-nonempty test "$(wc -l <"$work/embedded.oracle")" -ge 3
# an oci-archive of the same image: the same components
(cd "$work/layout" && tar -cf "$work/image.tar" .)
bom --oci-layout="oci-archive:$work/image.tar:v1" --output="$work/archive.json" 2>/dev/null
check oci-archive-same test "$(jq -c '[.components[].purl] | sort' "$work/archive.json")" = "$(jq -c '[.components[].purl] | sort' "$work/image.json")"
# SPDX of the image
bom --oci-layout="$work/layout" --output="$work/image.spdx.json" --format=spdx 2>/dev/null
check image-spdx-schema schema spdx "$work/image.spdx.json"
check spdx-license-declared test "$(jq -r '.packages[] | select(.name == "minimist-options" or .name == "private") | .licenseDeclared' "$work/image.spdx.json" | sort | tr '\n' ' ')" = "(MIT OR Apache-2.0) NOASSERTION "

# ---- 4. the image in a registry ----
if "$servers/registry.sh" start "$work/reg" none >/dev/null 2>&1; then
	. "$work/reg/env"
	skopeo copy -q --dest-cert-dir "$REGISTRY_CERT_DIR" "oci:$work/layout:v1" "docker://$REGISTRY/test/bom:v1" >/dev/null 2>&1
	bom --image="$REGISTRY/test/bom:v1" --ca-file="$REGISTRY_CA" --output="$work/reg.json" 2>"$work/reg.log"
	check registry-exit test $? = 0 || sed 's/^/    /' "$work/reg.log"
	check registry-same-as-layout test "$(jq -c '[.components[].purl] | sort' "$work/reg.json")" = "$(jq -c '[.components[].purl] | sort' "$work/image.json")"
	bom --image="$REGISTRY/test/nothing:v1" --ca-file="$REGISTRY_CA" --retries=0 --output="$work/nf.json" 2>"$work/nf.log"
	rc=$?
	check image-not-found-exit-2 test $rc = 2
	check image-not-found-message grep -q "image $REGISTRY/test/nothing:v1 not found" "$work/nf.log"
	"$servers/registry.sh" stop "$work/reg" >/dev/null 2>&1
	bom --image="$REGISTRY/test/bom:v1" --ca-file="$REGISTRY_CA" --retries=0 --output="$work/down.json" 2>"$work/down.log"
	rc=$?
	check registry-down-exit-5 test $rc = 5
	check registry-down-message grep -q "$REGISTRY" "$work/down.log"
	check registry-down-no-output test ! -e "$work/down.json"
else
	fail registry-start "tests/servers/registry.sh could not start docker-registry"
fi

# ---- 5. bad input ----
mkdir -p "$work/bad1/var/lib/dpkg"
printf 'Package: a\nVersion: 1\n\nthis line is no field\n' >"$work/bad1/var/lib/dpkg/status"
bom --source="$work/bad1" --output="$work/bad1.json" 2>"$work/bad1.log"
rc=$?
check bad-status-exit-2 test $rc = 2
check bad-status-message grep -q 'var/lib/dpkg/status:4: not a "Field: value" line' "$work/bad1.log"
mkdir -p "$work/bad2"
printf '{"lockfileVersion": 3, "packages": [' >"$work/bad2/package-lock.json"
bom --source="$work/bad2" --output="$work/bad2.json" 2>"$work/bad2.log"
rc=$?
check bad-lockfile-exit-2 test $rc = 2
check bad-lockfile-message grep -q 'package-lock.json' "$work/bad2.log"
mkdir -p "$work/bad3/x.dist-info"
printf 'Name: nover\n\n' >"$work/bad3/x.dist-info/METADATA"
bom --source="$work/bad3" --output="$work/bad3.json" 2>"$work/bad3.log"
rc=$?
check bad-metadata-warns test $rc = 0
check bad-metadata-message grep -q 'x.dist-info/METADATA:1: Python metadata without Name or Version; record skipped' "$work/bad3.log"
check bad-metadata-no-component test "$(jq '.components | length' "$work/bad3.json")" = 0
# in an image a malformed file is a warning naming it; the rest is kept
cat >"$work/spec-bad.json" <<'JSON'
{"layers": [[{"path": "var/lib/dpkg/status", "text": "Package: ok\nVersion: 1\n\n\u0001garbage\n"},
             {"path": "app/package-lock.json", "text": "{\"lockfileVersion\": 2, \"packages\": {\"node_modules/a\": {\"version\": \"1.0.0\"}}}"}]]}
JSON
python3 "$here/bom/image.py" "$work/spec-bad.json" "$work/badimg" v1 >/dev/null
bom --oci-layout="$work/badimg" --output="$work/badimg.json" 2>"$work/badimg.log"
rc=$?
check image-bad-file-exit-0 test $rc = 0
check image-bad-file-warning grep -q 'var/lib/dpkg/status:4: not a "Field: value" line; file skipped' "$work/badimg.log"
check image-bad-file-rest-kept has "$work/badimg.json" a
# hostile layer names: refused, naming the entry (common/layer's checks)
cat >"$work/spec-hostile.json" <<'JSON'
{"layers": [[{"raw_name": "../../etc/evil/package-lock.json", "text": "{}"}]]}
JSON
python3 "$here/bom/image.py" "$work/spec-hostile.json" "$work/hostile" v1 >/dev/null
bom --oci-layout="$work/hostile" --output="$work/hostile.json" 2>"$work/hostile.log"
rc=$?
check hostile-exit-1 test $rc = 1
check hostile-message grep -q 'layer entry ../../etc/evil/package-lock.json: entry "../../etc/evil/package-lock.json" points outside the root' "$work/hostile.log"
check hostile-no-output test ! -e "$work/hostile.json"
# a whiteout of ".." (hiding the directory above it, var/lib/dpkg/status
# with it, if it were taken as a path): refused, naming the entry
cat >"$work/spec-wh.json" <<'JSON'
{"layers": [[{"path": "var/lib/dpkg/status", "text": "Package: a\nVersion: 1\n"}],
            [{"raw_name": "var/lib/dpkg/status.d/.wh...", "text": ""}]]}
JSON
python3 "$here/bom/image.py" "$work/spec-wh.json" "$work/whdots" v1 >/dev/null
bom --oci-layout="$work/whdots" --output="$work/whdots.json" 2>"$work/whdots.log"
rc=$?
check whiteout-dotdot-exit-1 test $rc = 1
check whiteout-dotdot-message grep -q 'layer 2 .*: layer entry var/lib/dpkg/status.d/.wh...: bad whiteout entry var/lib/dpkg/status.d/.wh...' "$work/whdots.log"
# a layout whose layer blob is not the tar its config names (another
# layer put under the same file name): refused, nothing written
cp -r "$work/layout" "$work/tampered"
l1=$(jq -r '.layers[0].digest' "$work/tampered/blobs/sha256/$(jq -r '.manifests[0].digest' "$work/tampered/index.json" | cut -d: -f2)" | cut -d: -f2)
cp "$work/tampered/blobs/sha256/${layer2#sha256:}" "$work/tampered/blobs/sha256/$l1"
bom --oci-layout="$work/tampered" --output="$work/tampered.json" 2>"$work/tampered.log"
rc=$?
check tampered-layer-exit-1 test $rc = 1
check tampered-layer-message grep -q "layer 1 (sha256:$l1): its content (diff_id sha256:[0-9a-f]*) is not what the image config says" "$work/tampered.log"
check tampered-layer-no-output test ! -e "$work/tampered.json"
# a 32 KB layer of one 1 MiB lockfile and 300 hardlinks to it would hold
# 300 MiB (3,000 links: 3 GB): refused past 256 MiB, naming the entry
python3 -c 'import json, sys
big = "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": {\"version\": \"1.0.0\"}}, \"pad\": \"" + "x" * (1 << 20) + "\"}"
entries = [{"path": "app/package-lock.json", "text": big}]
entries += [{"path": "app%d/package-lock.json" % i, "hardlink": "app/package-lock.json"} for i in range(300)]
json.dump({"layers": [entries]}, open(sys.argv[1], "w"))' "$work/spec-amp.json"
python3 "$here/bom/image.py" "$work/spec-amp.json" "$work/amp" v1 >/dev/null
bom --oci-layout="$work/amp" --output="$work/amp.json" 2>"$work/amp.log"
rc=$?
check hardlink-amplification-exit-1 test $rc = 1
check hardlink-amplification-message grep -q "layer entry app[0-9]*/package-lock.json: .*would take more than 256 MiB of memory; refused" "$work/amp.log"
check hardlink-amplification-no-output test ! -e "$work/amp.json"
bom --source="$work/nonexistent" --output="$work/x.json" 2>"$work/ne.log"
check missing-source-exit-2 test $? = 2
bom --source="$data/app" --image=x --output="$work/x.json" 2>"$work/two.log"
check two-sources-exit-2 test $? = 2
check two-sources-message grep -q 'give exactly one of --source, --image, --oci-layout' "$work/two.log"

[ $fails = 0 ]
