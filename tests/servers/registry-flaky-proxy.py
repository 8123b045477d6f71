#!/usr/bin/env python3
"""A plain-http reverse proxy in front of a TLS registry that injects the
faults the HTTP client must survive, each a given number of times:

  --head-429 N       HEAD requests answer 429 with Retry-After: 1
  --put-503 N        manifest PUTs answer 503 (no Retry-After: backoff)
  --put-503-after N  the first N manifest PUTs pass, every later one
                     answers 503 (a registry that fails mid-way)
  --cut-blob N       blob GETs send half the body, then drop the connection
  --rule 'WHEN METHOD REGEX ARG [SKIP [COUNT [BODYRE]]]'   (repeatable)
                     WHEN is hold (wait ARG seconds, then forward),
                     late (forward, then wait ARG seconds before answering)
                     or fail (answer status ARG, forward nothing); REGEX is
                     searched in the path after /v2/; the first SKIP matches
                     pass untouched, then COUNT matches (default or -1:
                     all) are hit; BODYRE (7th field) must match the body
  --strip-range      forward retries without their Range header (the
                     registry then answers 200 with the whole blob)
  --foreign-port N   also listen on 127.0.0.2:N (0: any port), "another
                     origin": tag list Links and upload Locations are
                     rewritten to point there and blob GETs are redirected
                     there (307), as a CDN or a hostile registry would.
                     It forwards with --foreign-creds (user:pass) of its
                     own and logs "FOREIGN METHOD path auth=yes|no", "yes"
                     when the client sent an Authorization header there.
  --port-file F      write "front-port foreign-port" to F once listening

Every request is logged on stderr as "METHOD path range=<Range> -> status".
"""
import argparse
import base64
import os
import re
import http.client
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--foreign-port", type=int, default=-1)
    ap.add_argument("--foreign-creds", default="")
    ap.add_argument("--port-file")
    ap.add_argument("--upstream", required=True, help="host:port of the TLS registry")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--head-429", type=int, default=0)
    ap.add_argument("--put-503", type=int, default=0)
    ap.add_argument("--put-503-after", type=int, default=-1)
    ap.add_argument("--cut-blob", type=int, default=0)
    ap.add_argument("--strip-range", action="store_true")
    ap.add_argument("--rule", action="append", default=[])
    args = ap.parse_args()
    rules = []
    for r in args.rule:
        f = r.split()
        rules.append({"when": f[0], "method": f[1], "re": re.compile(f[2]), "arg": float(f[3]),
                      "skip": int(f[4]) if len(f) > 4 else 0, "count": int(f[5]) if len(f) > 5 and int(f[5]) >= 0 else 1 << 30,
                      "body": re.compile(f[6], re.S) if len(f) > 6 else None, "seen": 0})
    budget = {"head": args.head_429, "put": args.put_503, "cut": args.cut_blob}
    lock = threading.Lock()
    ctx = ssl.create_default_context(cafile=args.ca)
    host, port = args.upstream.rsplit(":", 1)

    def take(kind):
        with lock:
            if budget[kind] > 0:
                budget[kind] -= 1
                return True
        return False

    foreign = {"origin": None}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        is_foreign = False

        def log_message(self, fmt, *a):
            pass

        def note(self, status):
            sys.stderr.write("%s %s range=%s -> %s\n" % (self.command, self.path,
                                                         self.headers.get("Range", "-"), status))
            sys.stderr.flush()

        def simple(self, status, extra=None):
            self.send_response(status)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.note(status)

        def handle_any(self):
            body = b""
            n = int(self.headers.get("Content-Length", "0") or 0)
            if n:
                body = self.rfile.read(n)
            late = 0
            sub = self.path.split("/v2/", 1)[-1]
            for r in rules:
                if r["method"] != self.command or not r["re"].search(sub):
                    continue
                if r["body"] is not None and not r["body"].search(body.decode("latin-1")):
                    continue
                with lock:
                    k = r["seen"]
                    r["seen"] = k + 1
                if k < r["skip"] or k >= r["skip"] + r["count"]:
                    continue
                sys.stderr.write("RULE %s %s %s %s (match %d)\n" % (r["when"], r["arg"], self.command, self.path, k))
                sys.stderr.flush()
                if r["when"] == "fail":
                    return self.simple(int(r["arg"]))
                if r["when"] == "hold":
                    time.sleep(r["arg"])
                    sys.stderr.write("RELEASED %s %s\n" % (self.command, self.path))
                    sys.stderr.flush()
                if r["when"] == "late":
                    late = r["arg"]
            if self.is_foreign:
                sys.stderr.write("FOREIGN %s %s auth=%s\n" % (self.command, self.path,
                                                             "yes" if "Authorization" in self.headers else "no"))
                sys.stderr.flush()
            elif foreign["origin"] and self.command == "GET" and "/blobs/sha256:" in self.path:
                return self.simple(307, {"Location": foreign["origin"] + self.path})
            if self.command == "HEAD" and take("head"):
                return self.simple(429, {"Retry-After": "1"})
            if self.command == "PUT" and "/manifests/" in self.path and take("put"):
                return self.simple(503)
            if self.command == "PUT" and "/manifests/" in self.path and args.put_503_after >= 0:
                with lock:
                    passed = budget.setdefault("passed", 0)
                    budget["passed"] = passed + 1
                if passed >= args.put_503_after:
                    return self.simple(503)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            headers["Host"] = self.headers.get("Host", "")
            headers["X-Forwarded-Proto"] = "http"
            if self.is_foreign:
                headers.pop("Authorization", None)
                if args.foreign_creds:
                    headers["Authorization"] = "Basic " + base64.b64encode(args.foreign_creds.encode()).decode()
            if args.strip_range and "Range" in headers:
                del headers["Range"]
            conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
            conn.request(self.command, self.path, body=body if n else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if late:
                sys.stderr.write("LANDED %s %s -> %d (answer held %.1fs)\n" % (self.command, self.path, resp.status, late))
                sys.stderr.flush()
                time.sleep(late)
            cut = (self.command == "GET" and "/blobs/sha256:" in self.path and resp.status == 200
                   and len(data) > 1 and take("cut"))
            link = None
            if foreign["origin"] and "/tags/list" in self.path and resp.status == 200:
                # page the list ourselves (docker-registry 2.8 ignores n=):
                # the first tag here, the rest "on the next page" there
                doc = json.loads(data)
                tags = sorted(doc.get("tags") or [])
                if self.is_foreign and "last=" in self.path:
                    last = self.path.split("last=", 1)[1].split("&", 1)[0]
                    doc["tags"] = [t for t in tags if t > last]
                elif not self.is_foreign and len(tags) > 1:
                    doc["tags"] = tags[:1]
                    sep = "&" if "?" in self.path else "?"
                    link = '<%s%s%slast=%s>; rel="next"' % (foreign["origin"], self.path, sep, tags[0])
                data = json.dumps(doc).encode()
            self.send_response(resp.status)
            if link:
                self.send_header("Link", link)
            for k, v in resp.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    if foreign["origin"] and not self.is_foreign:
                        if k.lower() == "link":
                            v = v.replace("</", "<" + foreign["origin"] + "/", 1)
                        elif k.lower() == "location" and "/blobs/uploads/" in v:
                            v = foreign["origin"] + v[v.index("/v2/"):]
                    self.send_header(k, v)
            length = resp.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
            self.send_header("Content-Length", length)
            if cut:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data[: len(data) // 2] if cut else data)
            self.note("%d%s" % (resp.status, " cut" if cut else ""))
            conn.close()
            if cut:
                self.wfile.flush()
                self.close_connection = True

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    front = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    ports = [str(front.server_address[1])]
    if args.foreign_port >= 0:
        class Foreign(Handler):
            is_foreign = True
        far = ThreadingHTTPServer(("127.0.0.2", args.foreign_port), Foreign)
        foreign["origin"] = "http://127.0.0.2:%d" % far.server_address[1]
        ports.append(str(far.server_address[1]))
        threading.Thread(target=far.serve_forever, daemon=True).start()
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(" ".join(ports) + "\n")

        os.rename(args.port_file + ".tmp", args.port_file)
    front.serve_forever()


if __name__ == "__main__":
    main()
