"""What the image-admission suites' clients share (image-admission/client.py,
attack-admission/attack.py): an AdmissionReview request as the API server
sends one, a TLS connection to the webhook trusting its serving CA, and an
answer printed as the suites compare it (the HTTP status, then the JSON
with the JSON Patch decoded)."""
import base64
import json
import socket
import ssl
import uuid


def review(kind, obj, namespace="team", **req):
    """An AdmissionReview of a CREATE of obj (request.kind `kind`); req
    overrides or adds request fields."""
    r = {"uid": str(uuid.uuid4()), "kind": {"group": "", "version": "v1", "kind": kind},
         "operation": "CREATE", "namespace": namespace, "name": "x", "object": obj}
    r.update(req)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": r}


def tls_context(ca):
    return ssl.create_default_context(cafile=ca)


def tls_socket(port, ca, timeout=None):
    """A TLS connection to the webhook on 127.0.0.1:port."""
    return tls_context(ca).wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=timeout),
                                       server_hostname="127.0.0.1")


def show(status, body):
    """Print status, then body: its JSON with sorted keys and
    response.patch decoded, or as text when it is not JSON."""
    print(status)
    try:
        o = json.loads(body)
    except ValueError:
        print(body.decode(errors="replace"))
        return
    resp = o.get("response") if isinstance(o, dict) else None
    if isinstance(resp, dict) and "patch" in resp:
        resp["patch"] = json.loads(base64.b64decode(resp["patch"]))
    print(json.dumps(o, sort_keys=True))
