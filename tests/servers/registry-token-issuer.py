#!/usr/bin/env python3
"""A minimal Docker registry token issuer for tests (stdlib only).

GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] with Basic
credentials returns {"token": JWT, "access_token": JWT, "expires_in": 300}.
The JWT is RS256, signed by `openssl dgst -sha256 -sign KEY`, with the
signing certificate in its x5c header; docker-registry trusts that
certificate through its rootcertbundle. The right user gets every action it
asks for; anonymous requests get a token granting nothing; wrong
credentials get 401. POST /token with an OAuth2 form
(grant_type=refresh_token, refresh_token=<the password>) is the identity
token flow (config.json "identitytoken"). Every request is appended to the
log on stderr.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(path):
    der = subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


def make_handler(args, x5c):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("token-issuer: " + (fmt % a) + "\n")

        def deny(self, code, msg):
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": msg}]}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            url = urlparse(self.path)
            n = int(self.headers.get("Content-Length", "0") or 0)
            form = parse_qs(self.rfile.read(n).decode())
            if url.path != "/token" or form.get("grant_type") != ["refresh_token"]:
                return self.deny(400, "unsupported grant")
            if form.get("refresh_token") != [args.password]:
                return self.deny(401, "invalid refresh token")
            self.grant(form, args.user)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path != "/token":
                return self.deny(404, "not found")
            q = parse_qs(url.query)
            user = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                try:
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                except Exception:
                    return self.deny(400, "bad basic header")
                if u != args.user or p != args.password:
                    return self.deny(401, "invalid credentials")
                user = u
            elif auth:
                return self.deny(401, "unsupported auth")
            self.grant(q, user)

        def grant(self, q, user):
            access = []
            for scope in q.get("scope", []):
                parts = scope.split(":")
                if len(parts) < 3 or parts[0] != "repository":
                    continue
                name = ":".join(parts[1:-1])
                actions = [a for a in parts[-1].split(",") if a]
                if user:
                    access.append({"type": "repository", "name": name, "actions": actions})
            now = int(time.time())
            claims = {"iss": "test-issuer", "sub": user or "", "aud": q.get("service", [args.service])[0],
                      "exp": now + 300, "nbf": now - 10, "iat": now, "jti": b64url(os.urandom(12)),
                      "access": access}
            header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
            signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
            sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key],
                                 input=signing_input.encode(), check=True, capture_output=True).stdout
            token = signing_input + "." + b64url(sig)
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                               "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--service", default="test-registry")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args, cert_der_b64(args.cert)))
    server.serve_forever()


if __name__ == "__main__":
    main()
