#!/usr/bin/env python3
"""Static files over HTTPS on loopback, with the faults a downloader must
survive or refuse:

  --root DIR         files served (GET /<name>)
  --cert F --key F   the server's TLS certificate and key
  --fail-first N     the first N GETs answer 503 (then files are served)
  --cut NAME         GETs of NAME send half the body and drop the
                     connection, every time (a transfer that never ends)
  --port-file F      write the port to F once listening

Every request is logged on stderr as "GET path range=<Range> -> status".
"""
import argparse
import http.server
import os
import ssl
import sys
import threading

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--cut", default="")
ap.add_argument("--port-file", required=True)
args = ap.parse_args()
lock = threading.Lock()
failures = [args.fail_first]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def answer(self, status, body=b"", length=None):
        sys.stderr.write(f"GET {self.path} range={self.headers.get('Range')} -> {status}\n")
        sys.stderr.flush()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            fail = failures[0] > 0
            failures[0] -= fail
        if fail:
            return self.answer(503, b"try later\n")
        name = os.path.basename(self.path.split("?")[0])
        path = os.path.join(args.root, name)
        if not name or not os.path.isfile(path):
            return self.answer(404, b"not found\n")
        with open(path, "rb") as f:
            data = f.read()
        if name == args.cut:
            self.answer(200, data[: len(data) // 2], length=len(data))
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.answer(200, data)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
