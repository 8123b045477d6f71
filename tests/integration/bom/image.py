#!/usr/bin/env python3
"""Write an OCI image layout from a JSON description of its layers
(stdlib only, nothing downloaded), for tests/integration/bom.sh.

  image.py SPEC.json LAYOUT_DIR TAG

SPEC: {"layers": [[entry, ...], ...]}, each layer a gzip tar of its
entries in order; an entry is one of
  {"path": p, "text": "..."}            a file with this content
  {"path": p, "file": HOSTPATH}         a file copied from the host
  {"path": p, "mode": 0o755, ...}       (with either) its mode
  {"path": p, "dir": true}              a directory
  {"path": p, "symlink": target}        a symlink
  {"path": p, "hardlink": target}       a hardlink
  {"path": "dir/.wh.name"}              a whiteout (an empty file: the name says it)
  {"path": "dir/.wh..wh..opq"}          an opaque marker
  {"raw_name": "../x", "text": ""}      a name written as is (hostile layers)
Prints the manifest digest.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e.get("raw_name") or e["path"])
            ti.mtime = 1700000000
            ti.mode = e.get("mode", 0o644)
            data = None
            if e.get("dir"):
                ti.type, ti.mode = tarfile.DIRTYPE, e.get("mode", 0o755)
            elif "symlink" in e:
                ti.type, ti.linkname = tarfile.SYMTYPE, e["symlink"]
            elif "hardlink" in e:
                ti.type, ti.linkname = tarfile.LNKTYPE, e["hardlink"]
            else:
                if "file" in e:
                    with open(e["file"], "rb") as f:
                        data = f.read()
                else:
                    data = e.get("text", "").encode()
                ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    tar = buf.getvalue()
    return gzip.compress(tar, mtime=0), "sha256:" + hashlib.sha256(tar).hexdigest()


def main():
    spec, root, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(spec) as f:
        spec = json.load(f)
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for entries in spec["layers"]:
        gz, diff_id = layer(entries)
        d, n = blob(root, gz)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
        diff_ids.append(diff_id)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cd, cn = blob(root, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": cd, "size": cn},
                           "layers": layers}).encode()
    md, mn = blob(root, manifest)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mn,
         "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump(index, f)
    print(md)


if __name__ == "__main__":
    main()
