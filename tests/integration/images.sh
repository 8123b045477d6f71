#!/usr/bin/env bash
# Task images: every task built by our own containerize from
# containers/Containerfile (FROM scratch + static binary + CA bundle), then
# unpacked by skopeo (the oracle) and run alone in the image's root as the
# image's user. One image also resolves a registry host name through the
# image's /etc/hosts (static glibc's files name service) and pulls from it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIPELINE_STATIC_BIN:-$top/bin}
W=$(mktemp -d /tmp/images-test.XXXXXX)
chmod 755 "$W"
cleanup() { "$top/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
failed=0
pass() { echo "PASS: images/$1"; }
fail() { echo "FAIL: images/$1${2:+: $2}"; failed=1; }

cp /etc/ssl/certs/ca-certificates.crt "$W/ca.crt"
tasks=$(cd "$top/tasks" && ls -d */ | tr -d /)
for t in $tasks; do
	# a private context: the binary, the CA bundle and passwd where the Containerfile expects them
	ctx=$W/ctx-$t
	mkdir -p "$ctx/bin" "$ctx/containers"
	cp "$BIN/$t" "$ctx/bin/$t" && cp "$W/ca.crt" "$ctx/containers/ca-certificates.crt" &&
		cp "$top/containers/passwd" "$ctx/containers/passwd" && cp "$top/containers/Containerfile" "$ctx/containers/"
	if ! "$BIN/containerize" --context="$ctx" --dockerfile="$ctx/containers/Containerfile" --build-args=TASK="$t" \
		--push=false --tag="$t" --oci-layout="oci:$W/layout:$t" --source-date-epoch=0 \
		--results-dir="$W/res-$t" >"$W/build-$t.log" 2>&1; then
		fail "$t-builds" "$(tail -2 "$W/build-$t.log")"; continue
	fi
	cfg=$(skopeo inspect --config "oci:$W/layout:$t" 2>&1)
	if echo "$cfg" | jq -e '.config.Entrypoint == ["/task"] and .config.User == "65532:65532"' >/dev/null; then
		pass "$t-config"; else fail "$t-config" "$cfg"; fi
	skopeo copy -q "oci:$W/layout:$t" "dir:$W/dir-$t" >/dev/null 2>&1 || { fail "$t-unpack"; continue; }
	root=$W/root-$t && mkdir -p "$root"
	for l in $(jq -r '.layers[].digest' "$W/dir-$t/manifest.json"); do tar -xzf "$W/dir-$t/${l#sha256:}" -C "$root"; done
	# nothing but the binary, the CA bundle and passwd
	n=$(find "$root" -type f | wc -l)
	if out=$(chroot --userspec=65532:65532 "$root" /task --version 2>&1) && [[ $out == "$t "* ]] && [ "$n" = 3 ]; then
		pass "$t-runs-alone-as-non-root"; else fail "$t-runs-alone-as-non-root" "$out ($n files)"; fi
	# the digest is the same when built again (reproducible)
	"$BIN/containerize" --context="$ctx" --dockerfile="$ctx/containers/Containerfile" --build-args=TASK="$t" \
		--push=false --tag="$t-again" --oci-layout="oci:$W/layout:$t-again" --source-date-epoch=0 \
		--results-dir="$W/res2-$t" >/dev/null 2>&1
	if [ -s "$W/res-$t/image-digest" ] && cmp -s "$W/res-$t/image-digest" "$W/res2-$t/image-digest"; then
		pass "$t-reproducible"; else fail "$t-reproducible"; fi
done

# name resolution inside an image: registry.test -> 127.0.0.1 from the image's /etc/hosts
if "$top/tests/servers/registry.sh" start "$W/reg" none >/dev/null 2>&1; then
	. "$W/reg/env"
	port=${REGISTRY##*:}
	"$BIN/image-copy" --src="oci:$W/layout:extract-value-jq" --dest="docker://$REGISTRY/tools/jq:v1" \
		--ca-file="$REGISTRY_CA" >/dev/null 2>&1
	root=$W/root-image-copy
	printf '127.0.0.1 registry.test\n' >"$root/etc/hosts"
	mkdir -p "$root/out" && chmod 777 "$root/out"
	cp "$REGISTRY_CA" "$root/etc/registry-ca.crt" 2>/dev/null
	if out=$(chroot --userspec=65532:65532 "$root" /task --src="docker://registry.test:$port/tools/jq:v1" \
		--dest="oci:/out/jq:v1" --insecure --results-dir=/out/results 2>&1) &&
	   [ "$(cat "$root/out/results/IMAGE_DIGEST")" = "$(cat "$W/res-extract-value-jq/image-digest")" ]; then
		pass "static-binary-resolves-from-etc-hosts-in-image"
	else
		fail "static-binary-resolves-from-etc-hosts-in-image" "$out"
	fi
else
	fail "registry-start"
fi
exit $failed
