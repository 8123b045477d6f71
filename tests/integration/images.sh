#!/usr/bin/env bash
# Task images: every task built by containers/images.sh (what `make images
# REGISTRY=...` runs: our own containerize, a staging context per task) and
# pushed to the test docker-registry with credentials. Then, with skopeo as
# the oracle, on what the registry serves: the config (entrypoint, user,
# working dir, OCI labels), the compressed size (< 5 MB), the files (the
# stripped binary, passwd, the CA bundle only where TLS is spoken), and each
# image run alone as its config says (root, user, working dir, env). The
# Tekton Tasks generated with the pushed list point at digests the registry
# has. A second build gives the same digests. One image also resolves a
# registry host name through the image's /etc/hosts and pulls from it.
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

# run_image ROOT CONFIG_JSON ARGS...: as a runtime would: chroot to ROOT,
# cd to the config's WorkingDir, become its User, its Env only, exec its
# Entrypoint with ARGS
run_image() {
	python3 - "$@" <<'EOF'
import json, os, sys
root, cfg, args = sys.argv[1], json.loads(sys.argv[2])["config"], sys.argv[3:]
uid, gid = (int(x) for x in cfg["User"].split(":"))
os.chroot(root)
os.chdir(cfg["WorkingDir"])
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
env = dict(e.split("=", 1) for e in cfg["Env"])
os.execve(cfg["Entrypoint"][0], cfg["Entrypoint"] + args, env)
EOF
}

tasks=$(cd "$top/tasks" && ls -d */ | tr -d /)
if ! "$top/tests/servers/registry.sh" start "$W/reg" htpasswd >"$W/reg.log" 2>&1; then
	fail registry-start "$(tail -3 "$W/reg.log")"
	exit 1
fi
. "$W/reg/env"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REGISTRY" "$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASS" | base64 -w0)" \
	>"$W/auth.json"
sk=(--cert-dir="$REGISTRY_CERT_DIR" --creds="$REGISTRY_USER:$REGISTRY_PASS")
NS=$REGISTRY/pipeline

# shellcheck disable=SC2086 # one word per task
if "$top/containers/images.sh" --bin="$BIN" --out="$W/out" --registry="$NS/" --ca-file="$REGISTRY_CA" \
	--authfile="$W/auth.json" $tasks >"$W/images.out" 2>&1; then
	pass build-and-push
else
	fail build-and-push "$(tail -5 "$W/images.out")"
fi
cat "$W/images.out"

revision=$(git -C "$top" rev-parse HEAD)
[ -z "$(git -C "$top" status --porcelain --untracked-files=no)" ] || revision=$revision-dirty
for t in $tasks; do
	ref=$(awk -v t="$t" '$1 == t { print $2 }' "$W/out/images.txt" 2>/dev/null)
	if [[ $ref != "$NS/$t@sha256:"* ]]; then fail "$t-listed" "images.txt: '$ref'"; continue; fi
	about=$("$BIN/$t" --version)
	version=${about%%$'\n'*} && version=${version#"$t "}
	# the tag the registry has is the one listed, and the task's version
	if [ "$(skopeo inspect "${sk[@]}" --format '{{.Digest}}' "docker://$NS/$t:$version" 2>&1)" = "${ref#*@}" ]; then
		pass "$t-pushed-as-version-tag"; else fail "$t-pushed-as-version-tag"; fi
	cfg=$(skopeo inspect "${sk[@]}" --config "docker://$ref" 2>&1)
	if echo "$cfg" | jq -e --arg t "$t" --arg v "$version" --arg r "$revision" \
		--arg d "$("$BIN/$t" --describe | jq -r .summary)" '.config as $c | $c.Labels as $l |
		$c.Entrypoint == ["/task"] and $c.User == "65532:65532" and $c.WorkingDir == "/workspace" and
		($c.Cmd // []) == [] and
		$l["org.opencontainers.image.title"] == $t and $l["org.opencontainers.image.version"] == $v and
		$l["org.opencontainers.image.revision"] == $r and $l["org.opencontainers.image.description"] == $d and
		($l["org.opencontainers.image.source"] | test("^https://[^@ ]+$"))' >/dev/null; then
		pass "$t-config-and-labels"; else fail "$t-config-and-labels" "$(echo "$cfg" | jq -c .config)"; fi
	# licenses: glibc's and that of every other source --version lists
	lic=$(echo "$cfg" | jq -r '.config.Labels["org.opencontainers.image.licenses"]')
	missing=$(printf '%s\n' "$about" | tail -n +3 | while read -r src _; do
		l=$(awk -v s="$src" '$1 == s { sub(/^[^ ]+ +/, ""); print }' "$top/containers/licenses")
		[ -n "$l" ] && [[ $lic == *"$l"* ]] || echo "$src"
	done)
	if [ -z "$missing" ] && [[ $lic == *LGPL-2.1-or-later* ]]; then
		pass "$t-licenses-label"; else fail "$t-licenses-label" "'$lic' lacks: $missing"; fi
	# compressed size: layers + config as the registry's manifest says
	size=$(skopeo inspect "${sk[@]}" --raw "docker://$ref" | jq '([.layers[].size] | add) + .config.size')
	if [ "$size" -lt 5000000 ] && grep -Eq "^$t +$size " "$W/images.out"; then
		pass "$t-under-5MB ($size bytes)"; else fail "$t-under-5MB" "$size bytes, table: $(grep "^$t " "$W/images.out")"; fi
	# what the image holds
	skopeo copy -q --src-cert-dir="$REGISTRY_CERT_DIR" --src-creds="$REGISTRY_USER:$REGISTRY_PASS" "docker://$ref" "dir:$W/dir-$t" >/dev/null 2>&1 ||
		{ fail "$t-pull"; continue; }
	root=$W/root-$t && mkdir -p "$root"
	for l in $(jq -r '.layers[].digest' "$W/dir-$t/manifest.json"); do tar -xzf "$W/dir-$t/${l#sha256:}" -C "$root"; done
	files=$(cd "$root" && find . -type f | sort | tr '\n' ' ')
	want="./etc/passwd ./task "
	[[ $about != *" libssl.a"* ]] || want="./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./task "
	if [ "$files" = "$want" ]; then pass "$t-files"; else fail "$t-files" "$files, want $want"; fi
	if readelf -S --wide "$root/task" | grep -Eq '\.(symtab|debug_)'; then
		fail "$t-stripped" "$(readelf -S --wide "$root/task" | grep -E '\.(symtab|debug_)')"
	else pass "$t-stripped"; fi
	if out=$(run_image "$root" "$cfg" --version 2>&1) && [ "$out" = "$about" ]; then
		pass "$t-runs-alone-as-its-config-says"; else fail "$t-runs-alone-as-its-config-says" "$out"; fi
done

# the working directory and HOME are the image user's: a result written
# relative to the working dir, a temp file in HOME (TMPDIR)
root=$W/root-extract-value-jq
if out=$(run_image "$root" "$(skopeo inspect --config "oci:$W/out/images:extract-value-jq")" \
	--expression='.a' --json='{"a":"in-workspace"}' --results-dir=results 2>&1) &&
	[ "$(cat "$root/workspace/results/extracted-value" 2>/dev/null)" = in-workspace ]; then
	pass workdir-writable-by-image-user
else
	fail workdir-writable-by-image-user "$out"
fi

# the Tekton Tasks generated with the list: every step is the pushed image by
# digest, the registry has it, and the Tasks still pass the lint
mkdir -p "$W/tekton"
tekton_tasks=$(cd "$top/tekton" && for f in *.yaml; do echo "${f%.yaml}"; done) # not the runners
# shellcheck disable=SC2086
if python3 "$top/tekton/generate.py" --images="$W/out/images.txt" --compat="$top/tekton/compat:$W/tekton/compat" \
	"$BIN" "$W/tekton" $tekton_tasks 2>"$W/gen.err"; then
	# the drop-ins: every step (and BUILDER_IMAGE-like default) pinned too
	for f in "$top"/tekton/compat/*.yaml; do
		c=$(basename "$f" .yaml)
		step=$(sed -n 's/^      image: //p' "$W/tekton/compat/$c.yaml")
		want=$(awk -v t="$(sed -n 's|^      image: ghcr.io/secure-pipeline/\([^:]*\):.*|\1|p' "$f")" '$1 == t { print $2 }' "$W/out/images.txt")
		if [ -n "$want" ] && [ "$step" = "$want" ] && ! grep -q "ghcr.io/secure-pipeline/" "$W/tekton/compat/$c.yaml"; then
			pass "compat-$c-step-pinned-to-pushed-digest"
		else
			fail "compat-$c-step-pinned-to-pushed-digest" "$step, want $want"
		fi
	done
	if lint=$(python3 "$top/tests/tekton-lint.py" "$W"/tekton/compat/*.yaml 2>&1); then
		pass tekton-compat-pinned-lint; else fail tekton-compat-pinned-lint "$lint"; fi
	for t in $tekton_tasks; do
		image=$(sed -n 's/^      image: //p' "$W/tekton/$t.yaml")
		if [ "$image" = "$(awk -v t="$t" '$1 == t { print $2 }' "$W/out/images.txt")" ] &&
			[ "$(skopeo inspect "${sk[@]}" --format '{{.Digest}}' "docker://$image" 2>&1)" = "${image#*@}" ]; then
			pass "$t-tekton-step-pinned-to-pushed-digest"
		else
			fail "$t-tekton-step-pinned-to-pushed-digest" "$image"
		fi
	done
	if lint=$(python3 "$top/tests/tekton-lint.py" "$W"/tekton/*.yaml 2>&1); then
		pass tekton-pinned-lint; else fail tekton-pinned-lint "$lint"; fi
	# and the lint refuses a step image no make images builds
	sed 's|^      image: .*|      image: ghcr.io/secure-pipeline/git-clone:latest|' "$W/tekton/git-clone.yaml" >"$W/latest.yaml"
	if ! lint=$(python3 "$top/tests/tekton-lint.py" "$W/latest.yaml" 2>&1) &&
		[[ $lint == *"image 'ghcr.io/secure-pipeline/git-clone:latest' is not <registry>/<task>:"* ]]; then
		pass tekton-lint-refuses-unbuilt-tag; else fail tekton-lint-refuses-unbuilt-tag "$lint"; fi
else
	fail tekton-generate "$(cat "$W/gen.err")"
fi
# a task missing from the list, a tag instead of a digest: refused, said why
grep -v '^git-clone ' "$W/out/images.txt" >"$W/partial.txt"
if ! out=$(python3 "$top/tekton/generate.py" --images="$W/partial.txt" "$BIN" "$W/tekton" git-clone 2>&1) &&
	[[ $out == *"no image for git-clone"* ]]; then
	pass tekton-generate-refuses-missing-image; else fail tekton-generate-refuses-missing-image "$out"; fi
printf 'git-clone %s/git-clone:0.1.0\n' "$NS" >"$W/tag.txt"
if ! out=$(python3 "$top/tekton/generate.py" --images="$W/tag.txt" "$BIN" "$W/tekton" git-clone 2>&1) &&
	[[ $out == *"tag.txt:1: expected"*"@sha256:"* ]]; then
	pass tekton-generate-refuses-tag; else fail tekton-generate-refuses-tag "$out"; fi

# built again (no push): the same digests (reproducible), and the size goal
# is enforced: over it, the table says OVER and the build fails
# shellcheck disable=SC2086
"$top/containers/images.sh" --bin="$BIN" --out="$W/again" $tasks >"$W/again.out" 2>&1
same=1
for t in $tasks; do
	first=$(awk -v t="$t" '$1 == t { print $2 }' "$W/out/images.txt" | cut -d@ -f2)
	if [ -z "$first" ] || [ "$(cat "$W/again/images-results/$t/image-digest" 2>/dev/null)" != "$first" ]; then
		same=0; echo "  $t differs"
	fi
done
if [ "$same" = 1 ]; then pass reproducible; else fail reproducible; fi
if ! out=$("$top/containers/images.sh" --bin="$BIN" --out="$W/again" --goal=1500000 docker-lint git-clone 2>&1) &&
	echo "$out" | grep -Eq '^git-clone .* OVER$' && echo "$out" | grep -Eq '^docker-lint .* ok$'; then
	pass size-goal-enforced; else fail size-goal-enforced "$out"; fi

# name resolution inside an image: registry.test -> 127.0.0.1 from the image's /etc/hosts
port=${REGISTRY##*:}
"$BIN/image-copy" --src="oci:$W/out/images:extract-value-jq" --dest="docker://$REGISTRY/tools/jq:v1" \
	--ca-file="$REGISTRY_CA" --dest-creds="$REGISTRY_USER:$REGISTRY_PASS" >/dev/null 2>&1
root=$W/root-image-copy
printf '127.0.0.1 registry.test\n' >"$root/etc/hosts"
mkdir -p "$root/out" && chmod 777 "$root/out"
if out=$(chroot --userspec=65532:65532 "$root" /task --src="docker://registry.test:$port/tools/jq:v1" \
	--dest="oci:/out/jq:v1" --insecure --src-creds="$REGISTRY_USER:$REGISTRY_PASS" --results-dir=/out/results 2>&1) &&
	[ "$(cat "$root/out/results/IMAGE_DIGEST")" = "$(cat "$W/out/images-results/extract-value-jq/image-digest")" ]; then
	pass "static-binary-resolves-from-etc-hosts-in-image"
else
	fail "static-binary-resolves-from-etc-hosts-in-image" "$out"
fi
exit $failed
