#!/usr/bin/env python3
"""A test client for image-admission, over TLS with the serving CA, as
the API server talks to it.

  client.py PORT CA review PATH KIND NAMESPACE IMAGE...   one AdmissionReview
        prints the HTTP status, then the response JSON (patch decoded)
  client.py PORT CA raw PATH BODYFILE                      POST bytes as they are
  client.py PORT CA get PATH
  client.py PORT CA slowloris SECONDS    headers a byte a second: prints
        "closed-by-server" if the server hangs up before SECONDS
  client.py PORT CA concurrent N         N connections open at once, then a
        review on each: prints "N/N answered"
  client.py PORT CA keepalive CMD        a review, then CMD (e.g. kill -HUP),
        then a review on the same connection: prints both statuses and the
        serving certificate's serial before and after (a new connection)
  client.py PORT CA load N THREADS IMAGE...   N reviews over the images,
        round robin: prints "IMAGE allowed=A denied=D" per image
  client.py PORT CA race WAITCMD SLOW... -- PROBE...   one review per SLOW
        image at once (IMAGE*N: N of them), then WAITCMD (a shell command
        that returns once the server is on them), then one review per
        PROBE image at once: prints one line per review in the order the
        answers arrived: "probe|slow IMAGE allowed|denied: MESSAGE"
"""
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import admission_review  # noqa: E402  (tests/integration/lib)

KINDS = {
    "Pod": lambda spec: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec},
    "Deployment": lambda spec: {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                "spec": {"template": {"spec": spec}}},
    "CronJob": lambda spec: {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                             "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}},
}


def review(kind, namespace, images):
    spec = {"containers": [{"name": "c%d" % i, "image": im} for i, im in enumerate(images[-1:])]}
    if len(images) > 1:
        spec["initContainers"] = [{"name": "i%d" % i, "image": im} for i, im in enumerate(images[:-1])]
    return json.dumps(admission_review.review(kind, KINDS[kind](spec), namespace)).encode()


def conn(port, ca, timeout=30):
    return http.client.HTTPSConnection("127.0.0.1", port, context=admission_review.tls_context(ca), timeout=timeout)


def post(c, path, body):
    c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read()


def main():
    port, ca, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    if cmd == "review":
        c = conn(port, ca)
        admission_review.show(*post(c, args[0], review(args[1], args[2], args[3:])))
    elif cmd == "raw":
        c = conn(port, ca)
        with open(args[1], "rb") as f:
            body = f.read()
        try:
            admission_review.show(*post(c, args[0], body))
        except (ConnectionError, http.client.HTTPException) as e:
            print("connection-error", type(e).__name__)
    elif cmd == "get":
        c = conn(port, ca)
        c.request("GET", args[0])
        r = c.getresponse()
        admission_review.show(r.status, r.read())
    elif cmd == "slowloris":
        limit = float(args[0])
        s = admission_review.tls_socket(port, ca)
        s.settimeout(1)
        start = time.monotonic()
        head = b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nX-Slow: " + b"a" * 1000
        for b in head:
            if time.monotonic() - start > limit:
                print("still-open")
                return
            try:
                s.sendall(bytes([b]))
                if s.recv(1) == b"":
                    print("closed-by-server")
                    return
            except socket.timeout:
                continue
            except (ssl.SSLError, OSError):
                print("closed-by-server")
                return
        print("still-open")
    elif cmd == "race":
        wait_cmd, rest = args[0], args[1:]
        cut = rest.index("--")
        slow = [im.split("*")[0] for im in rest[:cut] for _ in range(int(im.split("*")[1]) if "*" in im else 1)]
        order, lock = [], threading.Lock()

        def one(what, image):
            c = conn(port, ca, timeout=60)
            try:
                status, body = post(c, "/validate", review("Pod", "team", [image]))
                r = json.loads(body)["response"]
                line = "%s %s %s: %s" % (what, image, "allowed" if r["allowed"] else "denied",
                                         r.get("status", {}).get("message", ""))
            except Exception as e:  # noqa: BLE001 - printed, the test fails on it
                line = "%s %s error: %s" % (what, image, e)
            with lock:
                order.append(line)
        ts = [threading.Thread(target=one, args=("slow", im)) for im in slow]
        for t in ts:
            t.start()
        subprocess.run(wait_cmd, shell=True, check=True)
        ps = [threading.Thread(target=one, args=("probe", im)) for im in rest[cut + 1:]]
        for t in ps:
            t.start()
        for t in ts + ps:
            t.join()
        print("\n".join(order))
    elif cmd == "concurrent":
        n = int(args[0])
        body = review("Pod", "team", [args[1]]) if len(args) > 1 else None
        conns = []
        for _ in range(n):
            c = conn(port, ca, timeout=60)
            c.connect()
            conns.append(c)
        ok = [0]
        lock = threading.Lock()

        def one(c):
            try:
                if body:
                    st, _ = post(c, "/validate", body)
                else:
                    c.request("GET", "/healthz")
                    r = c.getresponse()
                    st = r.status
                    r.read()
                if st == 200:
                    with lock:
                        ok[0] += 1
            except Exception as e:  # noqa: BLE001 - counted as unanswered
                print("error", type(e).__name__, e, file=sys.stderr)
        ts = [threading.Thread(target=one, args=(c,)) for c in conns]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("%d/%d answered" % (ok[0], n))
    elif cmd == "keepalive":
        def serial():
            s = admission_review.tls_socket(port, ca)
            sn = s.getpeercert()["serialNumber"]
            s.close()
            return sn
        c = conn(port, ca)
        before = serial()
        st1, _ = post(c, "/validate", review("Pod", "kube-system", ["x.local/a:1"]))
        subprocess.run(args[0], shell=True, check=True)
        time.sleep(1)
        st2, _ = post(c, "/validate", review("Pod", "kube-system", ["x.local/a:1"]))
        print(st1, st2, "same-serial" if before == serial() else "new-serial")
    elif cmd == "load":
        n, threads, images = int(args[0]), int(args[1]), args[2:]
        counts = {im: [0, 0] for im in images}
        lock = threading.Lock()
        idx = [0]

        def worker():
            c = conn(port, ca)
            while True:
                with lock:
                    i = idx[0]
                    idx[0] += 1
                if i >= n:
                    return
                im = images[i % len(images)]
                st, body = post(c, "/validate", review("Pod", "team", [im]))
                allowed = st == 200 and json.loads(body)["response"]["allowed"]
                with lock:
                    counts[im][0 if allowed else 1] += 1
        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for im in images:
            print("%s allowed=%d denied=%d" % (im, counts[im][0], counts[im][1]))


main()
