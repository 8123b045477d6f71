#!/usr/bin/env python3
"""A deliberately slow notary: an HTTPS reverse proxy in front of the real
notary-server that holds every answer back while DELAY-FILE exists (it
holds the seconds, e.g. "1.5"), and forwards at once otherwise.

  slow-proxy.py PORT CERT KEY UPSTREAM-URL UPSTREAM-CA DELAY-FILE

Every request is logged on stderr, when it arrives, as "METHOD path".
"""
import http.client
import os
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    port, cert, key, upstream, upstream_ca, delay_file = sys.argv[1:7]
    up = urllib.parse.urlsplit(upstream)
    up_ctx = ssl.create_default_context(cafile=upstream_ca)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def forward(self):
            sys.stderr.write("%s %s\n" % (self.command, self.path))
            sys.stderr.flush()
            try:
                with open(delay_file) as f:
                    time.sleep(float(f.read().strip() or "0"))
            except FileNotFoundError:
                pass
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            c = http.client.HTTPSConnection(up.hostname, up.port, context=up_ctx, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            c.request(self.command, self.path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            c.close()

        do_GET = do_HEAD = do_POST = forward

    srv = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
