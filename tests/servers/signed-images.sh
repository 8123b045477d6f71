# Source me: three images in the real docker-registry, signed in Docker
# Content Trust by the real notary-server as two signers (signer-key,
# dct-init and build-sign of this tree), for deploy's tests and bench.
#
#   signed_images_start DIR BIN   start the servers; returns non-zero on failure
#   signed_images_stop            stop them
#
# Sets IMG (registry/hello/app), D1 (signed by build and validation), D2
# (build only), D3 (nobody), REGISTRY, REGISTRY_CA, NOTARY_URL, NOTARY_CA,
# SIGNED_VAULT (the file vault's --keystore-dir and --passphrase; the
# public keys are DIR/ks/<signer>.pub) and SIGNED_LOG (step outputs).
. "$(dirname "${BASH_SOURCE[0]}")/notary.sh"

signed_images_stop() {
	notary_stop
	[ -n "${SIGNED_DIR:-}" ] && "$(dirname "${BASH_SOURCE[0]}")/registry.sh" stop "$SIGNED_DIR/reg" >/dev/null 2>&1
	return 0
}

signed_images_start() { # dir bin
	SIGNED_DIR=$1
	local bin=$2 servers s
	servers=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	SIGNED_LOG=$SIGNED_DIR/signed-images.log
	mkdir -p "$SIGNED_DIR/certs"
	: >"$SIGNED_LOG"
	SIGNED_VAULT=(--keystore-dir="$SIGNED_DIR/ks" --passphrase="vault-$(openssl rand -hex 8)")
	notary_start "$SIGNED_DIR/notary" >>"$SIGNED_LOG" 2>&1 || { echo "notary did not start" >>"$SIGNED_LOG"; return 1; }
	"$servers/registry.sh" start "$SIGNED_DIR/reg" none >>"$SIGNED_LOG" 2>&1 || return 1
	. "$SIGNED_DIR/reg/env"
	cp "$REGISTRY_CA" "$SIGNED_DIR/certs/ca.crt" # skopeo: a dir of CAs, no keys
	IMG=$REGISTRY/hello/app
	local notary=(--notary-server="$NOTARY_URL" --notary-ca="$NOTARY_CA")
	_signed_push() { # tag -> prints the manifest digest
		python3 "$servers/registry-fixtures.py" image "$SIGNED_DIR/oci-$1" "$1" --layers 1 --size 64 >/dev/null &&
		skopeo copy -q --dest-cert-dir="$SIGNED_DIR/certs" "oci:$SIGNED_DIR/oci-$1:$1" "docker://$IMG:$1" >/dev/null 2>&1 &&
		skopeo inspect --cert-dir="$SIGNED_DIR/certs" --format '{{.Digest}}' "docker://$IMG:$1"
	}
	D1=$(_signed_push v1) && D2=$(_signed_push v2) && D3=$(_signed_push v3) || return 1
	for s in build validation; do
		"$bin/signer-key" --action=create --name=$s "${SIGNED_VAULT[@]}" >>"$SIGNED_LOG" 2>&1 || return 1
	done
	"$bin/dct-init" --image="$IMG" "${notary[@]}" "${SIGNED_VAULT[@]}" --signers=build --signers=validation \
		>>"$SIGNED_LOG" 2>&1 || return 1
	for s in build validation; do
		"$bin/build-sign" --image="$IMG:v1@$D1" --signer=$s "${SIGNED_VAULT[@]}" "${notary[@]}" \
			--registry-ca="$REGISTRY_CA" >>"$SIGNED_LOG" 2>&1 || return 1
	done
	"$bin/build-sign" --image="$IMG:v2@$D2" --signer=build "${SIGNED_VAULT[@]}" "${notary[@]}" \
		--registry-ca="$REGISTRY_CA" >>"$SIGNED_LOG" 2>&1 || return 1
	export IMG D1 D2 D3
}
