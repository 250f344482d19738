#!/usr/bin/env python3
"""A local webhook destination for deploy/local/up: answers 200 to every request and prints
method, path and body (one line per request) to stdout, which `up` sends to
.local/logs/webhook-sink.log.

    python3 deploy/local/webhook-sink.py [PORT]   (default 8090, on 127.0.0.1)
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink(BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        print(f"{self.command} {self.path} {body.decode('utf-8', 'replace')}", flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _answer

    def log_message(self, format, *args):  # the request line is printed by _answer
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8090
    ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
