#!/usr/bin/env bash
# containers/images.sh: build every task image with our own containerize
# (no daemon), from a staging directory per task holding only what the image
# contains (see containers/Containerfile), never the repository.
#
#   containers/images.sh [options] TASK...
#     --bin=DIR        the static binaries (default bin)
#     --out=DIR        staging, logs, results and the OCI layout go under it
#                      (default build): DIR/images is an OCI layout, one tag
#                      per task
#     --registry=R     also push each image to R/<task>:<version> (R is
#                      host[:port]/namespace) and write --list
#     --list=FILE      `<task> <registry>/<task>@sha256:...` per line, written
#                      only when every push succeeded (default DIR/images.txt)
#     --ca-file=F --authfile=F   for the registry (containerize's params)
#     --source=URL     org.opencontainers.image.source
#     --goal=BYTES     the compressed size each image must stay under (5 MB)
#
# Labels: title (the task), description (its --describe summary), version
# (from its --version), revision (git HEAD, "-dirty" when tracked files
# differ), source, licenses (containers/licenses). File times and config
# dates come from SOURCE_DATE_EPOCH, default the last commit's time, so a
# rebuild of the same binaries gives the same digests.
#
# Prints a table: image, compressed size (compressed layers + config, what
# a pull downloads besides the manifest), the goal; exits 1 when an image
# is over the goal or a build fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=bin out=build registry='' list='' ca_file='' authfile=''
source_url=https://github.com/secure-pipeline/secure-pipeline
GOAL=5000000 # bytes: 5 MB
die() { echo "containers/images.sh: $*" >&2; exit 1; }
for a; do
	case $a in
	--bin=*) bin=${a#*=} ;;
	--out=*) out=${a#*=} ;;
	--registry=*) registry=${a#*=} ;;
	--list=*) list=${a#*=} ;;
	--ca-file=*) ca_file=${a#*=} ;;
	--authfile=*) authfile=${a#*=} ;;
	--source=*) source_url=${a#*=} ;;
	--goal=*) GOAL=${a#*=} ;;
	-*) die "unknown option $a" ;;
	*) break ;;
	esac
	shift
done
[[ $GOAL =~ ^[0-9]+$ ]] || die "--goal=$GOAL: not a number of bytes"
[ $# -gt 0 ] || die "usage: containers/images.sh [--bin=DIR] [--out=DIR] [--registry=HOST/NS] TASK..."
registry=${registry%/}
list=${list:-$out/images.txt}
jq_() { "$bin/extract-value-jq" "$@"; } # our own jq: nothing else to install

revision=$(git -C "$top" rev-parse HEAD 2>/dev/null) || revision=unknown
if [ "$revision" != unknown ] && [ -n "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	revision=$revision-dirty
fi
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}

# licenses TASK VERSION_TEXT: the SPDX expression of what the binary links
licenses() {
	local src lic expr='LicenseRef-secure-pipeline' seen=' '
	while read -r src _; do
		case $seen in *" $src "*) continue ;; esac
		seen="$seen$src "
		lic=$(awk -v s="$src" '$1 == s { sub(/^[^ ]+ +/, ""); print; exit }' "$top/containers/licenses")
		[ -n "$lic" ] || die "$1 links $src, which containers/licenses does not name"
		case $lic in *" OR "*) lic="($lic)" ;; esac
		case " AND $expr AND " in *" AND $lic AND "*) ;; *) expr="$expr AND $lic" ;; esac
	done < <(printf '%s\n' "$2" | tail -n +3)
	printf '%s\n' "$expr"
}

mkdir -p "$out/images-stage" "$out/images-logs" "$out/images-results"
rm -f "$list.tmp"
failed=0
rows=()
for t in "$@"; do
	[ -x "$bin/$t" ] || die "$bin/$t: no such binary (make all)"
	stage=$out/images-stage/$t
	rm -rf "$stage" && mkdir -p "$stage/rootfs/etc"
	cp "$top/containers/Containerfile" "$stage/Containerfile"
	strip --strip-all -o "$stage/rootfs/task" "$bin/$t"
	chmod 0755 "$stage/rootfs/task"
	install -m 0644 "$top/containers/passwd" "$stage/rootfs/etc/passwd"
	about=$("$bin/$t" --version)
	if [[ $about == *" libssl.a"* ]]; then # it speaks TLS
		mkdir -p "$stage/rootfs/etc/ssl/certs"
		install -m 0644 /etc/ssl/certs/ca-certificates.crt "$stage/rootfs/etc/ssl/certs/ca-certificates.crt"
	fi
	version=${about%%$'\n'*} && version=${version#"$t "}
	lic=$(licenses "$t" "$about") || exit 1
	description=$("$bin/$t" --describe | jq_ --expression=.summary)
	dest=(--push=false)
	if [ -n "$registry" ]; then
		dest=(--image="$registry/$t" --push=true ${ca_file:+--ca-file="$ca_file"} ${authfile:+--authfile="$authfile"})
	fi
	rm -rf "$out/images-results/$t"
	if ! "$bin/containerize" --context="$stage" --dockerfile="$stage/Containerfile" "${dest[@]}" \
		--tag="$version" --oci-layout="oci:$out/images:$t" --source-date-epoch="$epoch" \
		--build-args=TASK="$t" --build-args=VERSION="$version" --build-args=REVISION="$revision" \
		--build-args=SOURCE="$source_url" --build-args=DESCRIPTION="$description" \
		--build-args=LICENSES="$lic" \
		--results-dir="$out/images-results/$t" >"$out/images-logs/$t.log" 2>&1; then
		echo "containers/images.sh: $t: build failed:" >&2
		tail -5 "$out/images-logs/$t.log" >&2
		failed=1
		continue
	fi
	digest=$(cat "$out/images-results/$t/image-digest")
	size=$(jq_ --json-file="$out/images/blobs/sha256/${digest#sha256:}" \
		--expression='([.layers[].size] | add) + .config.size')
	verdict=ok
	[ "$size" -lt "$GOAL" ] || { verdict=OVER; failed=1; }
	rows+=("$(printf '%-20s %10s %8s   < %s MB  %s' "$t" "$size" \
		"$(awk -v s="$size" 'BEGIN { printf "%.2f MB", s / 1e6 }')" "$(awk -v s="$GOAL" 'BEGIN { printf "%g", s / 1e6 }')" "$verdict")")
	[ -z "$registry" ] || echo "$t $(cat "$out/images-results/$t/image-ref")" >>"$list.tmp"
done

printf '%-20s %10s %8s   %s\n' image bytes size goal
printf '%s\n' "${rows[@]}"
if [ -n "$registry" ] && [ "$failed" = 0 ]; then
	mv -f "$list.tmp" "$list"
	echo "pushed to $registry: $list"
fi
rm -f "$list.tmp"
exit $failed
