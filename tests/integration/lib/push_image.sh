# push_image REPO TAG CONTENT: a one-config image of no layers (its config
# labelled CONTENT) pushed by curl to $REGISTRY (CA $REGISTRY_CA) as
# REPO:TAG; prints its manifest digest. Sourced by the signing suites.
push_image() { # repo tag content -> prints manifest digest
	local repo=$1 tag=$2 cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Labels\":{\"t\":\"$3\"}}}"
	local cd=sha256:$(printf %s "$cfg" | sha256sum | cut -c1-64) loc m
	loc=$(curl -sS --cacert "$REGISTRY_CA" -X POST -D - "https://$REGISTRY/v2/$repo/blobs/uploads/" -o /dev/null |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	case $loc in http*) ;; *) loc=https://$REGISTRY$loc ;; esac
	printf %s "$cfg" | curl -sS --cacert "$REGISTRY_CA" -X PUT -H 'Content-Type: application/octet-stream' \
		--data-binary @- "$loc&digest=$cd" -o /dev/null
	m="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":${#cfg},\"digest\":\"$cd\"},\"layers\":[]}"
	printf %s "$m" | curl -sS --cacert "$REGISTRY_CA" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @- "https://$REGISTRY/v2/$repo/manifests/$tag" -o /dev/null
	echo "sha256:$(printf %s "$m" | sha256sum | cut -c1-64)"
}
