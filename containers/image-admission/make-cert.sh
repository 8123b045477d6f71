#!/usr/bin/env bash
# The serving certificate of image-admission and the webhooks that trust
# it: a CA of its own (its key stays in OUT, never in the cluster), a P-256
# serving certificate for the Service's names (SERVICE.NAMESPACE.svc and
# .svc.cluster.local), the kubernetes.io/tls Secret holding it, and
# webhooks.yaml with the CA as caBundle.
#
#   containers/image-admission/make-cert.sh OUT [NAMESPACE [SERVICE [DAYS]]]
#
# Writes OUT/ca.crt, OUT/ca.key, OUT/tls.crt, OUT/tls.key,
# OUT/tls-secret.yaml and OUT/webhooks.yaml. Run it again (a new key
# pair, same CA when OUT/ca.key exists) and apply the Secret: the pods
# reload the certificate on SIGHUP without dropping connections.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: make-cert.sh OUT [NAMESPACE [SERVICE [DAYS]]]}
ns=${2:-image-admission}
svc=${3:-image-admission}
days=${4:-365}
mkdir -p "$out"
umask 077
if [ ! -s "$out/ca.key" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $((days * 2)) \
		-subj "/CN=$svc.$ns webhook CA" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$svc.$ns.svc" \
	-keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
	"$svc" "$svc" "$ns" "$svc" "$ns" "$svc" "$ns" >"$out/tls.ext"
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial -days "$days" \
	-extfile "$out/tls.ext" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/tls.ext"
chmod 644 "$out/ca.crt" "$out/tls.crt"
b64() { base64 -w0 <"$1"; }
cat >"$out/tls-secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: $svc-tls
  namespace: $ns
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$out/tls.crt")
  tls.key: $(b64 "$out/tls.key")
YAML
ca=$(b64 "$out/ca.crt")
sed -e "s/CA_BUNDLE/$ca/" -e "s/namespace: image-admission/namespace: $ns/" -e "s/name: image-admission$/name: $svc/" \
	-e "s/\"image-admission\"\]/\"$ns\"]/" "$here/webhooks.yaml" >"$out/webhooks.yaml"
echo "make-cert.sh: $out/tls.crt for $svc.$ns.svc (until $(openssl x509 -enddate -noout -in "$out/tls.crt" | cut -d= -f2)); apply $out/tls-secret.yaml and $out/webhooks.yaml"
