#!/usr/bin/env python3
"""A hostile notary server, for tests: forges trust data and serves it.

  tuf-forge.py forge-root SRC DST
      Copy a directory of role files (root.json, timestamp.json, ...,
      targets/<name>.json) and replace its root with a forgery: the root
      role lists the real root key beside an attacker's key, threshold 1,
      and only the attacker signs it; the attacker also takes the snapshot
      and timestamp roles and re-signs them over the forged root. Targets
      and delegations stay as the real ones signed them. Without a pinned
      root key such data verifies; a pin that means "signed by" refuses it.

  tuf-forge.py serve DIR GUN CERT KEY PORTFILE
      Serve DIR over HTTPS on a free loopback port as notary does
      (GET /v2/<GUN>/_trust/tuf/<role>.json); the port goes to PORTFILE.
"""
import base64
import hashlib
import http.server
import json
import os
import shutil
import ssl
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_object(priv):
    spki = priv.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"keytype": "ecdsa", "keyval": {"private": None, "public": base64.b64encode(spki).decode()}}


def key_id(obj):
    return hashlib.sha256(canonical(obj)).hexdigest()


def sign(signed, priv, keyid):
    der = priv.sign(canonical(signed), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return {"signed": signed, "signatures": [{"keyid": keyid, "method": "ecdsa", "sig": base64.b64encode(raw).decode()}]}


def meta_entry(data):
    return {"hashes": {"sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
                       "sha512": base64.b64encode(hashlib.sha512(data).digest()).decode()},
            "length": len(data)}


def write(path, doc):
    data = json.dumps(doc, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(data)
    return data


def forge_root(src, dst):
    shutil.copytree(src, dst)
    evil = ec.generate_private_key(ec.SECP256R1())
    evil_key = key_object(evil)
    evil_id = key_id(evil_key)
    root = json.load(open(os.path.join(dst, "root.json")))["signed"]
    real = root["roles"]["root"]["keyids"][0]
    root["keys"][evil_id] = evil_key
    root["roles"]["root"] = {"keyids": [real, evil_id], "threshold": 1}
    root["roles"]["snapshot"] = {"keyids": [evil_id], "threshold": 1}
    root["roles"]["timestamp"] = {"keyids": [evil_id], "threshold": 1}
    root_bytes = write(os.path.join(dst, "root.json"), sign(root, evil, evil_id))
    snap = json.load(open(os.path.join(dst, "snapshot.json")))["signed"]
    snap["meta"]["root"] = meta_entry(root_bytes)
    snap_bytes = write(os.path.join(dst, "snapshot.json"), sign(snap, evil, evil_id))
    ts = json.load(open(os.path.join(dst, "timestamp.json")))["signed"]
    ts["meta"]["snapshot"] = meta_entry(snap_bytes)
    write(os.path.join(dst, "timestamp.json"), sign(ts, evil, evil_id))
    print(real)


def serve(directory, gun, cert, key, portfile):
    prefix = "/v2/%s/_trust/tuf/" % gun

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path.split("?", 1)[0]
            role = path[len(prefix):-len(".json")] if path.startswith(prefix) and path.endswith(".json") else ""
            file = os.path.join(directory, role + ".json")
            if not role or ".." in role or not os.path.isfile(file):
                self.send_error(404)
                return
            data = open(file, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(httpd.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    httpd.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "forge-root":
        forge_root(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 7 and sys.argv[1] == "serve":
        serve(*sys.argv[2:])
    else:
        sys.exit(__doc__)
