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

  tuf-forge.py make-repo DIR KEYS DIGEST BUILD_VERSION META_VERSION [dup-key]
      Write a whole repository (root, targets delegating targets/build,
      targets/build signing DIGEST as tag v1 at BUILD_VERSION, snapshot
      and timestamp at META_VERSION: what the server, holding their keys,
      can always make fresh) with bare ECDSA keys kept in KEYS (made on first use, so
      a second call makes a newer or older repository of the same keys;
      KEYS/build.pub is the signer's public key). dup-key: targets/build
      lists the build key twice, bare and in a certificate (two key IDs,
      one key), threshold 2, and is signed by it under both IDs.

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


def load_key(keys, name):
    path = os.path.join(keys, name + ".pem")
    if not os.path.exists(path):
        os.makedirs(keys, exist_ok=True)
        k = ec.generate_private_key(ec.SECP256R1())
        with open(path, "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
        with open(os.path.join(keys, name + ".pub"), "wb") as f:
            f.write(k.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    return serialization.load_pem_private_key(open(path, "rb").read(), None)


def cert_key_object(priv, cn):
    import datetime
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(priv.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(priv, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return {"keytype": "ecdsa-x509", "keyval": {"private": None, "public": base64.b64encode(pem).decode()}}


def sign_all(signed, pairs):
    doc = {"signed": signed, "signatures": []}
    for priv, kid in pairs:
        doc["signatures"] += sign(signed, priv, kid)["signatures"]
    return doc


def make_repo(directory, keys, digest, build_version, meta_version, variant=""):
    k = {n: load_key(keys, n) for n in ("root", "targets", "snapshot", "timestamp", "build")}
    obj = {n: key_object(v) for n, v in k.items()}
    ids = {n: key_id(o) for n, o in obj.items()}
    exp = "2099-01-01T00:00:00Z"
    os.makedirs(os.path.join(directory, "targets"), exist_ok=True)
    root = {"_type": "Root", "consistent_snapshot": False, "expires": exp, "version": 1,
            "keys": {ids[n]: obj[n] for n in ("root", "targets", "snapshot", "timestamp")},
            "roles": {n: {"keyids": [ids[n]], "threshold": 1} for n in ("root", "targets", "snapshot", "timestamp")}}
    root_bytes = write(os.path.join(directory, "root.json"), sign(root, k["root"], ids["root"]))
    build_keys = {ids["build"]: obj["build"]}
    signers = [(k["build"], ids["build"])]
    threshold = 1
    if variant == "dup-key":
        cobj = cert_key_object(k["build"], "build")
        build_keys[key_id(cobj)] = cobj
        signers.append((k["build"], key_id(cobj)))
        threshold = 2
    targets = {"_type": "Targets", "expires": exp, "version": 1, "targets": {},
               "delegations": {"keys": build_keys, "roles": [{"name": "targets/build", "keyids": list(build_keys),
                                                               "paths": [""], "threshold": threshold}]}}
    targets_bytes = write(os.path.join(directory, "targets.json"), sign(targets, k["targets"], ids["targets"]))
    raw = bytes.fromhex(digest.split(":", 1)[1])
    build = {"_type": "Targets", "expires": exp, "version": int(build_version), "delegations": {"keys": {}, "roles": []},
             "targets": {"v1": {"hashes": {"sha256": base64.b64encode(raw).decode()}, "length": 1234}}}
    build_bytes = write(os.path.join(directory, "targets", "build.json"), sign_all(build, signers))
    snap = {"_type": "Snapshot", "expires": exp, "version": int(meta_version),
            "meta": {"root": meta_entry(root_bytes), "targets": meta_entry(targets_bytes),
                     "targets/build": meta_entry(build_bytes)}}
    snap_bytes = write(os.path.join(directory, "snapshot.json"), sign(snap, k["snapshot"], ids["snapshot"]))
    ts = {"_type": "Timestamp", "expires": exp, "version": int(meta_version), "meta": {"snapshot": meta_entry(snap_bytes)}}
    write(os.path.join(directory, "timestamp.json"), sign(ts, k["timestamp"], ids["timestamp"]))


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
    elif len(sys.argv) in (7, 8) and sys.argv[1] == "make-repo":
        make_repo(*sys.argv[2:])
    elif len(sys.argv) == 7 and sys.argv[1] == "serve":
        serve(*sys.argv[2:])
    else:
        sys.exit(__doc__)
