#!/usr/bin/env python3
"""A small app for check-health's tests (stdlib only), on a free loopback
port, plain HTTP or TLS:

  /healthz   200 {"status": "ok", "version": "1.2.3", "checks": {"db": true}}
  /degraded  200 {"status": "degraded", "checks": {"db": false}}
  /flaky     503 for the first --flaky requests, then 200 "ok"
  /error     500 "database down: connection refused"
  /headers   200, the request's headers as a JSON object (names lower-cased)
  /text      200 "service is UP and running"
  /empty     204
"""
import argparse
import http.server
import json
import os
import socketserver
import ssl
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        if code != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if code != 204:
            self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        p = self.path.split("?")[0]
        if p == "/healthz":
            return self.reply(200, json.dumps({"status": "ok", "version": "1.2.3", "checks": {"db": True}}).encode(),
                              "application/json")
        if p == "/degraded":
            return self.reply(200, json.dumps({"status": "degraded", "checks": {"db": False}}).encode(),
                              "application/json")
        if p == "/flaky":
            with srv.lock:
                srv.flaky_left -= 1
                left = srv.flaky_left
            return self.reply(503, b"warming up") if left >= 0 else self.reply(200, b"ok")
        if p == "/error":
            return self.reply(500, b"database down: connection refused")
        if p == "/headers":
            return self.reply(200, json.dumps({k.lower(): v for k, v in self.headers.items()}).encode(),
                              "application/json")
        if p == "/text":
            return self.reply(200, b"service is UP and running")
        if p == "/empty":
            return self.reply(204)
        return self.reply(404, b"not found")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    ctx = None

    def finish_request(self, request, client_address):
        """the TLS handshake in the connection's thread, so one client's
        failed handshake never blocks the others"""
        if self.ctx:
            try:
                request = self.ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
        super().finish_request(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--flaky", type=int, default=2)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.lock = threading.Lock()
    srv.flaky_left = a.flaky
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.ctx = ctx
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
