#!/usr/bin/env python3
"""Hostile clients for image-admission (tests/integration/attack-admission.sh).

  attack.py PORT CA body NAME IMAGE...     print an AdmissionReview body (NAME
        picks the shape, see BODIES) to stdout
  attack.py PORT CA send PATH FILE [HEADER:VALUE...]   POST FILE with the
        extra headers: prints the status, then the response (patch decoded)
  attack.py PORT CA wire FILE              write FILE's bytes as they are on one
        TLS connection, read until the server closes: prints each status line
  attack.py PORT CA starve N IMAGE         N reviews of IMAGE at once, then a
        GET /healthz: prints "healthz-first" if /healthz is answered before
        any of the N reviews, else "healthz-after-N"
"""
import json
import os
import re
import ssl
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from admission_review import review as wrap, show as show_answer, tls_socket  # noqa: E402  (tests/integration/lib)


def pod(spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def body(name, images):
    first = images[0] if images else ""
    if name == "nul-image":  # the image string carries a NUL: what follows it is pulled too
        return json.dumps(wrap("Pod", pod({"containers": [{"name": "c", "image": first + "\0" + images[1]}]})))
    if name == "ephemeral":  # a signed container, an unsigned ephemeral one
        return json.dumps(wrap("Pod", pod({"containers": [{"name": "c", "image": first}],
                                           "ephemeralContainers": [{"name": "e", "image": images[1]}]})))
    if name == "deployment-as-pod":  # request.kind Deployment, object a bare Pod
        return json.dumps(wrap("Deployment", pod({"containers": [{"name": "c", "image": first}]})))
    if name == "deep":  # JSON nested far deeper than any review
        return '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": ' + \
            "[" * 30000 + "]" * 30000 + "}"
    if name == "escaped":  # every character of the image as a \\u escape
        esc = "".join("\\u%04x" % ord(ch) for ch in first)
        return json.dumps(wrap("Pod", pod({"containers": [{"name": "c", "image": "IMAGE"}]}))).replace(
            '"IMAGE"', '"' + esc + '"')
    if name == "plain":
        return json.dumps(wrap("Pod", pod({"containers": [{"name": "c%d" % i, "image": im}
                                                          for i, im in enumerate(images)]})))
    raise SystemExit("unknown body " + name)


def tls(port, ca):
    return tls_socket(port, ca, timeout=30)


def read_all(s):
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except (ssl.SSLError, OSError):
            break
        if not b:
            break
        out += b
    return out


def request(path, data, headers=(), conn="close"):
    h = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: %s\r\n" % (path, conn)
    for x in headers:
        h += x + "\r\n"
    return h.encode() + b"Content-Length: %d\r\n\r\n" % len(data) + data


def show(raw):
    head, _, rest = raw.partition(b"\r\n\r\n")
    show_answer(head.split(b"\r\n")[0].split(b" ")[1].decode() if head else "no-answer", rest)


def main():
    port, ca, cmd, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    if cmd == "body":
        sys.stdout.write(body(args[0], args[1:]))
    elif cmd == "send":
        with open(args[1], "rb") as f:
            data = f.read()
        s = tls(port, ca)
        s.sendall(request(args[0], data, args[2:]))
        show(read_all(s))
    elif cmd == "wire":
        with open(args[0], "rb") as f:
            data = f.read()
        s = tls(port, ca)
        s.sendall(data)
        # a response's status line follows the previous body directly
        for status in re.findall(rb"HTTP/1\.[01] (\d{3}) ", read_all(s)):
            print(status.decode())
    elif cmd == "starve":
        n, image = int(args[0]), args[1]
        order, lock = [], threading.Lock()
        data = body("plain", [image]).encode()
        socks = [tls(port, ca) for _ in range(n)]

        def one(s, what, req):
            s.sendall(req)
            read_all(s)
            with lock:
                order.append(what)
        ts = [threading.Thread(target=one, args=(s, "review", request("/validate", data))) for s in socks]
        for t in ts:
            t.start()
        # the reviews are in before the probe: give the server their bytes first
        import time
        time.sleep(0.5)
        h = tls(port, ca)
        th = threading.Thread(target=one, args=(h, "healthz", b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        th.start()
        for t in ts + [th]:
            t.join()
        print("healthz-first" if order[0] == "healthz" else "healthz-after-%d" % order.index("healthz"))
    else:
        raise SystemExit("unknown command " + cmd)


main()
