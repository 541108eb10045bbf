"""What `aisha serve` talks to while schemathesis tests it, and the legitimate senders' credentials.

One process, two servers:
- fixtures (--fixtures-port): FAL's JWKS at /jwks.json (a fresh Ed25519 key), and a Telegram Bot API stub at
  /bot<token>/<method> that answers every method as Telegram would answer a plain success.
- signing proxy (--proxy-port), in front of aisha (--upstream): a request that carries well-formed webhook
  credentials (FAL's four X-Fal-Webhook-* headers, or Telegram's secret token header) gets them replaced by valid
  ones for its exact body, as FAL and Telegram would send them. Missing or malformed credentials pass untouched,
  so the refusals stay testable.
"""
import argparse
import base64
import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
JWKS = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(PUBLIC).rstrip(b"=").decode()}]}
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "ok"}
BOOLEAN_METHODS = {"setwebhook", "deletewebhook", "answercallbackquery", "deletemessage"}
FAL_HEADERS = {
    "x-fal-webhook-request-id": re.compile(r"^[A-Za-z0-9-]+$"),
    "x-fal-webhook-user-id": re.compile(r"^[A-Za-z0-9-]+$"),
    "x-fal-webhook-timestamp": re.compile(r"^[0-9]{10}$"),
    "x-fal-webhook-signature": re.compile(r"^[0-9a-f]{128}$"),
}
TELEGRAM_SECRET = "x-telegram-bot-api-secret-token"


class Fixtures(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/jwks.json":
            self.answer(200, JWKS)
        else:
            self.do_POST()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        method = self.path.rstrip("/").rsplit("/", 1)[-1].split("?")[0].lower()
        if not self.path.startswith("/bot"):
            self.answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        elif method in BOOLEAN_METHODS:
            self.answer(200, {"ok": True, "result": True})
        elif method == "getfile":
            self.answer(200, {"ok": True, "result": {"file_id": "f", "file_path": "photos/f.jpg", "file_size": 4}})
        else:
            self.answer(200, {"ok": True, "result": MESSAGE})

    def log_message(self, *args):
        pass


def signing_proxy(upstream, telegram_secret):
    class Proxy(BaseHTTPRequestHandler):
        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name: value for name, value in self.headers.items() if name.lower() not in ("host", "content-length")}
            lower = {name.lower(): name for name in headers}
            if all(name in lower and pattern.match(headers[lower[name]]) for name, pattern in FAL_HEADERS.items()):
                request_id, user_id = headers[lower["x-fal-webhook-request-id"]], headers[lower["x-fal-webhook-user-id"]]
                timestamp = str(int(time.time()))
                message = f"{request_id}\n{user_id}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()
                headers[lower["x-fal-webhook-timestamp"]] = timestamp
                headers[lower["x-fal-webhook-signature"]] = KEY.sign(message).hex()
            if TELEGRAM_SECRET in lower and headers[lower[TELEGRAM_SECRET]]:
                headers[lower[TELEGRAM_SECRET]] = telegram_secret
            request = urllib.request.Request(upstream + self.path, data=body if self.command != "GET" else None,
                                             headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    status, reply_headers, data = response.status, response.headers, response.read()
            except urllib.error.HTTPError as error:
                status, reply_headers, data = error.code, error.headers, error.read()
            self.send_response(status)
            for name, value in reply_headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def __getattr__(self, name):
            # Every method is forwarded as it came (schemathesis also tries TRACE, QUERY and the like).
            if name.startswith("do_"):
                return self.forward
            raise AttributeError(name)

        def log_message(self, *args):
            pass

    return Proxy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixtures-port", type=int, required=True)
    parser.add_argument("--proxy-port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--telegram-secret", required=True)
    args = parser.parse_args()
    fixtures = ThreadingHTTPServer(("127.0.0.1", args.fixtures_port), Fixtures)
    proxy = ThreadingHTTPServer(("127.0.0.1", args.proxy_port), signing_proxy(args.upstream, args.telegram_secret))
    threading.Thread(target=fixtures.serve_forever, daemon=True).start()
    proxy.serve_forever()


if __name__ == "__main__":
    main()
