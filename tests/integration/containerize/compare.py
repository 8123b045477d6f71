#!/usr/bin/env python3
"""Compare two images in OCI layouts: the root filesystem they unpack to
(layers applied in order with whiteouts and opaque markers) and the config
fields a Dockerfile sets. Used by tests/integration/containerize.sh with
buildah as the oracle.

  compare.py OURS_LAYOUT[:tag] THEIRS_LAYOUT[:tag]   -> prints differences, exit 1 if any
  compare.py --list LAYOUT[:tag]                      -> prints the listing and config

Every entry: path, type, permission bits (with setuid/setgid/sticky), uid,
gid, and the sha256 of a file's content or a symlink's target. mtimes are
not compared (ours are clamped by SOURCE_DATE_EPOCH). What buildah leaves
behind from its own RUN mounts (empty /dev, /proc, /sys, /run and empty
/etc/hosts, /etc/hostname, /etc/resolv.conf) is ignored when only its side
has it, and so is its io.buildah.version label.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MT_INDEX = "application/vnd.oci.image.index.v1+json"


def split_ref(arg):
    if ":" in os.path.basename(arg) and not os.path.exists(arg):
        d, tag = arg.rsplit(":", 1)
        return d, tag
    return arg, None


def blob(layout, digest):
    return os.path.join(layout, "blobs", digest.split(":")[0], digest.split(":")[1])


def load(arg):
    layout, tag = split_ref(arg)
    index = json.load(open(os.path.join(layout, "index.json")))
    mans = index["manifests"]
    if tag:
        mans = [m for m in mans if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    if not mans:
        raise SystemExit("no manifest tagged %s in %s" % (tag, layout))
    m = json.load(open(blob(layout, mans[-1]["digest"])))
    if m.get("mediaType") == MT_INDEX or "manifests" in m:
        m = json.load(open(blob(layout, m["manifests"][0]["digest"])))
    cfg = json.load(open(blob(layout, m["config"]["digest"])))
    return layout, m, cfg


def open_layer(path):
    data = open(path, "rb")
    head = data.read(4)
    data.seek(0)
    if head[:2] == b"\x1f\x8b":
        return tarfile.open(fileobj=gzip.open(data), mode="r|")
    if head == b"\x28\xb5\x2f\xfd":
        import subprocess
        out = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
        return tarfile.open(fileobj=io.BytesIO(out), mode="r|")
    return tarfile.open(fileobj=data, mode="r|")


def norm(name):
    while name.startswith("./"):
        name = name[2:]
    name = name.lstrip("/").rstrip("/")
    return "" if name == "." else name


def apply_layers(layout, manifest):
    fs = {}
    for layer in manifest["layers"]:
        tf = open_layer(blob(layout, layer["digest"]))
        for ti in tf:
            name = norm(ti.name)
            if not name:
                continue
            base = os.path.basename(name)
            parent = os.path.dirname(name)
            if base == ".wh..wh..opq":
                for p in list(fs):
                    if p.startswith(parent + "/") if parent else True:
                        del fs[p]
                continue
            if base.startswith(".wh."):
                gone = os.path.join(parent, base[4:])
                for p in list(fs):
                    if p == gone or p.startswith(gone + "/"):
                        del fs[p]
                continue
            if name in fs and fs[name][0] == "dir" and not ti.isdir():
                for p in list(fs):
                    if p.startswith(name + "/"):
                        del fs[p]
            if ti.isdir():
                kind, content = "dir", ""
            elif ti.issym():
                kind, content = "symlink", ti.linkname
            elif ti.islnk():
                target = fs.get(norm(ti.linkname))
                kind, content = "file", target[4] if target else "?missing-link-target"
            elif ti.isfile():
                f = tf.extractfile(ti)
                h = hashlib.sha256()
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                kind, content = "file", h.hexdigest()[:16]
            elif ti.isfifo():
                kind, content = "fifo", ""
            elif ti.ischr() or ti.isblk():
                kind, content = "dev", "%d,%d" % (ti.devmajor, ti.devminor)
            else:
                kind, content = "other", ""
            fs[name] = (kind, oct(ti.mode & 0o7777), ti.uid, ti.gid, content)
    return fs


BUILDAH_LEFTOVERS = {"dev", "proc", "sys", "run", "etc/hosts", "etc/hostname", "etc/resolv.conf"}

CONFIG_FIELDS = ["Env", "Cmd", "Entrypoint", "User", "WorkingDir", "ExposedPorts", "Labels", "Volumes",
                 "StopSignal", "Healthcheck", "OnBuild", "Shell"]


def config_view(cfg):
    c = cfg.get("config") or {}
    out = {}
    for k in CONFIG_FIELDS:
        v = c.get(k)
        if k == "Labels" and v:
            v = {a: b for a, b in v.items() if a != "io.buildah.version"} or None
        if v in ([], {}, ""):
            v = None
        out[k] = v
    return out


def listing(fs):
    return ["%s %s %s %s:%s %s" % (p, v[0], v[1], v[2], v[3], v[4]) for p, v in sorted(fs.items())]


def extract(layout, manifest, dest):
    """Write the final files (content only, no owners) and directories under
    dest, for checks; a hardlink within a layer stays a hardlink."""
    fs = {}
    links = {}  # name -> name of the file it is linked to (same layer)
    for layer in manifest["layers"]:
        tf = open_layer(blob(layout, layer["digest"]))
        for ti in tf:
            name = norm(ti.name)
            if not name:
                continue
            base = os.path.basename(name)
            if base.startswith(".wh."):
                gone = os.path.join(os.path.dirname(name), base[4:])
                for p in list(fs):
                    if p == gone or p.startswith(gone + "/"):
                        del fs[p]
                        links.pop(p, None)
                continue
            links.pop(name, None)
            if ti.isfile():
                fs[name] = tf.extractfile(ti).read()
            elif ti.islnk():
                fs[name] = fs.get(norm(ti.linkname), b"")
                links[name] = norm(ti.linkname)
            elif ti.isdir():
                fs[name] = None
    for name in sorted(fs, key=lambda n: n in links):
        data = fs[name]
        if ".." in name.split("/"):
            continue
        p = os.path.join(dest, name)
        if data is None:
            os.makedirs(p, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(p), exist_ok=True)
        target = links.get(name)
        if target in fs and fs[target] is not None and target not in links:
            os.link(os.path.join(dest, target), p)
        else:
            open(p, "wb").write(data)


def main():
    if sys.argv[1] == "--extract":
        layout, m, cfg = load(sys.argv[2])
        extract(layout, m, sys.argv[3])
        return 0
    if sys.argv[1] == "--config":
        layout, m, cfg = load(sys.argv[2])
        print(json.dumps(config_view(cfg), sort_keys=True))
        return 0
    if sys.argv[1] == "--expect-config":
        layout, m, cfg = load(sys.argv[2])
        view = config_view(cfg)
        want = json.load(open(sys.argv[3]))
        bad = ["  config %s: ours %s, want %s" % (k, json.dumps(view.get(k)), json.dumps(v))
               for k, v in want.items() if view.get(k) != v]
        for b in bad:
            print(b)
        return 1 if bad else 0
    if sys.argv[1] == "--list":
        layout, m, cfg = load(sys.argv[2])
        for line in listing(apply_layers(layout, m)):
            print(line)
        print(json.dumps(config_view(cfg), sort_keys=True))
        return 0
    ours_l, ours_m, ours_c = load(sys.argv[1])
    theirs_l, theirs_m, theirs_c = load(sys.argv[2])
    a = apply_layers(ours_l, ours_m)
    b = apply_layers(theirs_l, theirs_m)
    for p in list(b):
        if p not in a and (p in BUILDAH_LEFTOVERS or (p == "etc" and not any(q.startswith("etc/") for q in a))):
            if b[p][0] == "dir" or b[p][4] == hashlib.sha256(b"").hexdigest()[:16]:
                del b[p]
    diffs = []
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            diffs.append("  /%s: ours %s, buildah %s" % (p, a.get(p), b.get(p)))
    ca, cb = config_view(ours_c), config_view(theirs_c)
    for k in CONFIG_FIELDS:
        # buildah's OCI configs have no Healthcheck, OnBuild or Shell (Docker-format
        # fields); those are checked against expect-config files instead
        if k in ("Healthcheck", "OnBuild", "Shell") and cb[k] is None:
            continue
        if ca[k] != cb[k]:
            diffs.append("  config %s: ours %s, buildah %s" % (k, json.dumps(ca[k]), json.dumps(cb[k])))
    for d in diffs[:40]:
        print(d)
    if len(diffs) > 40:
        print("  ... %d more" % (len(diffs) - 40))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
