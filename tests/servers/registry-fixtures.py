#!/usr/bin/env python3
"""Test images and hostile layers, generated (nothing downloaded).

  registry-fixtures.py image DIR TAG [--layers N] [--size BYTES] [--index]
      an OCI layout at DIR holding an image tagged TAG: a config and N
      gzip layers of random files (BYTES each); with --index, TAG names an
      OCI index of a linux/amd64 and a linux/arm64/v8 image.
  registry-fixtures.py hostile DIR
      one tar per attack in DIR (see HOSTILE below) plus expect.txt
  registry-fixtures.py rich FILE
      a benign layer using every ordinary feature (dirs, files with odd
      modes and owners, symlinks, hardlinks, long names, PAX records,
      empty files) as a gzip tar: GNU tar extracts it the same way
  registry-fixtures.py compare DIR1 DIR2
      exit 1 (listing the differences) unless both trees have the same
      names, types, modes, owners, sizes, contents, link targets, mtimes
      of non-directories and hardlink structure
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def put_blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256", d)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return "sha256:" + d


def make_layer(seed, size):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo("data")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        t.addfile(d)
        rnd = os.urandom(size)
        ti = tarfile.TarInfo("data/file-%d.bin" % seed)
        ti.size = len(rnd)
        ti.mode = 0o644
        t.addfile(ti, io.BytesIO(rnd))
        txt = ("layer %d\n" % seed).encode()
        ti = tarfile.TarInfo("etc/layer-%d" % seed)
        ti.size = len(txt)
        t.addfile(ti, io.BytesIO(txt))
    tar = buf.getvalue()
    return tar, gzip.compress(tar, compresslevel=1, mtime=0)


def make_image(root, arch, variant, nlayers, size):
    layers, diff_ids = [], []
    for i in range(nlayers):
        tar, gz = make_layer(i, size)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": put_blob(root, gz), "size": len(gz)})
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
    config = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "config": {"Cmd": ["/bin/sh"]}}
    if variant:
        config["variant"] = variant
    cb = json.dumps(config, separators=(",", ":")).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": put_blob(root, cb), "size": len(cb)},
                "layers": layers}
    mb = json.dumps(manifest, separators=(",", ":")).encode()
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put_blob(root, mb),
            "size": len(mb)}


def cmd_image(argv):
    root, tag = argv[0], argv[1]
    nlayers, size, index = 2, 4096, False
    rest = argv[2:]
    while rest:
        a = rest.pop(0)
        if a == "--layers":
            nlayers = int(rest.pop(0))
        elif a == "--size":
            size = int(rest.pop(0))
        elif a == "--index":
            index = True
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    if index:
        amd = make_image(root, "amd64", None, nlayers, size)
        amd["platform"] = {"architecture": "amd64", "os": "linux"}
        arm = make_image(root, "arm64", "v8", nlayers, size)
        arm["platform"] = {"architecture": "arm64", "os": "linux", "variant": "v8"}
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": [amd, arm]}
        ib = json.dumps(idx, separators=(",", ":")).encode()
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put_blob(root, ib),
               "size": len(ib)}
    else:
        top = make_image(root, "amd64", None, nlayers, size)
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    path = os.path.join(root, "index.json")
    entries = []
    if os.path.exists(path):
        with open(path) as f:
            entries = [m for m in json.load(f)["manifests"]
                       if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    entries.append(top)
    with open(path, "w") as f:
        json.dump({"schemaVersion": 2, "manifests": entries}, f)
    print(top["digest"])


def tar_bytes(members):
    """members: list of (TarInfo, bytes or None)"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def ti(name, kind=tarfile.REGTYPE, link="", mode=0o644):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.linkname = link
    t.mode = mode
    return t


# name -> (members, what must hold afterwards: written to expect.txt)
def hostile():
    D, S, H, R = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.REGTYPE
    return {
        "dotdot": [(ti("../escape-dotdot"), b"x"), (ti("a/../../escape-dotdot2"), b"x")],
        "absolute": [(ti("/tmp-escape-absolute"), b"x")],
        "symlink-dir": [(ti("link", S, "../.."), None), (ti("link/escape-symlink"), b"x")],
        "symlink-abs": [(ti("abs", S, "/"), None), (ti("abs/escape-symlink-abs"), b"x")],
        "symlink-chain": [(ti("d", D, mode=0o755), None), (ti("d/l1", S, "../l2"), None),
                          (ti("l2", S, "l3"), None), (ti("l3", S, "../.."), None),
                          (ti("d/l1/escape-chain"), b"x")],
        "symlink-overwrite": [(ti("victim", S, "../outside-victim"), None), (ti("victim"), b"pwned")],
        "hardlink-outside": [(ti("hl", H, "../outside-victim"), None)],
        "hardlink-via-symlink": [(ti("s", S, ".."), None), (ti("hl2", H, "s/outside-victim"), None)],
        "hardlink-abs": [(ti("hl3", H, "/etc/passwd"), None)],
        "device": [(ti("dev-null", tarfile.CHRTYPE), None), (ti("blk", tarfile.BLKTYPE), None),
                   (ti("fifo", tarfile.FIFOTYPE), None)],
        "whiteout-escape": [(ti("../.wh.outside-victim"), b""), (ti("s2", S, ".."), None),
                            (ti("s2/.wh.outside-victim"), b"")],
        "whiteout-dotdot": [(ti(".wh..."), b"")],  # would remove the root's parent
        "symlink-then-file-parent": [(ti("p", S, "/tmp"), None), (ti("p/q/escape-deep"), b"x")],
    }


def cmd_hostile(argv):
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    for name, members in hostile().items():
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(tar_bytes(members))
        with open(os.path.join(out, name + ".tar.gz"), "wb") as f:
            f.write(gzip.compress(tar_bytes(members), mtime=0))
    print("\n".join(sorted(hostile())))


def cmd_rich(argv):
    D, S, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
    members = []

    def add(name, kind=tarfile.REGTYPE, data=None, link="", mode=0o644, uid=0, gid=0, mtime=1700000000):
        t = ti(name, kind, link, mode)
        t.uid, t.gid, t.mtime = uid, gid, mtime
        members.append((t, data))

    add("etc", D, mode=0o755)
    add("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n")
    add("etc/shadow", data=b"root:*:1::::::\n", mode=0o640, gid=42)
    add("usr", D, mode=0o755)
    add("usr/bin", D, mode=0o755)
    add("usr/bin/tool", data=b"\x7fELF" + os.urandom(5000), mode=0o4755)
    add("usr/bin/alias", H, link="usr/bin/tool")
    add("bin", S, link="usr/bin")
    add("home", D, mode=0o755)
    add("home/user", D, mode=0o700, uid=1000, gid=1000)
    add("home/user/.profile", data=b"export X=1\n", uid=1000, gid=1000, mode=0o600)
    add("tmp", D, mode=0o1777)
    add("empty", data=b"")
    add("deep/" + "/".join("d%d" % i for i in range(30)) + "/file", data=b"deep\n")
    add("long-" + "n" * 200, data=b"long name\n")
    add("unicode-\u00e9\u00e8", data=b"accents\n")
    add("var/lib/ro", D, mode=0o555)
    add("var/lib/ro/inside", data=b"x", mode=0o444)
    add("dangling", S, link="/nowhere/at/all")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            if data is not None:
                m.size = len(data)
                t.addfile(m, io.BytesIO(data))
            else:
                t.addfile(m)
    with open(argv[0], "wb") as f:
        f.write(gzip.compress(buf.getvalue(), mtime=0))


def snapshot(root):
    out, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            kind = "d" if os.path.isdir(p) and not os.path.islink(p) else "l" if os.path.islink(p) else "f"
            rec = {"kind": kind, "mode": oct(st.st_mode & 0o7777) if kind != "l" else "", "uid": st.st_uid,
                   "gid": st.st_gid}
            if kind == "f":
                rec["data"] = hashlib.sha256(open(p, "rb").read()).hexdigest()
                rec["mtime"] = int(st.st_mtime)
                inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            if kind == "l":
                rec["target"] = os.readlink(p)
            out[rel] = rec
    links = sorted(sorted(v) for v in inodes.values() if len(v) > 1)
    return out, links


def cmd_compare(argv):
    a, la = snapshot(argv[0])
    b, lb = snapshot(argv[1])
    diffs = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            diffs.append("%s: %s != %s" % (k, a.get(k), b.get(k)))
    if la != lb:
        diffs.append("hardlinks: %s != %s" % (la, lb))
    for d in diffs[:20]:
        print(d)
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    {"image": cmd_image, "hostile": cmd_hostile, "rich": cmd_rich,
     "compare": cmd_compare}[sys.argv[1]](sys.argv[2:])
