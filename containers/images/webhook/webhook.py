"""Webhook receiver of the container test tier: Alertmanager posts here.

Usage: webhook.py [PORT]  (default 9095)

POST any path: the body is Alertmanager's webhook JSON; every alert in it
is kept as "STATUS ALERTNAME" (firing/resolved). GET /received prints one
such line per alert received, oldest first. Nothing else is stored.
"""

import http.server
import json
import signal
import sys
import threading

RECEIVED = []
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            alerts = json.loads(body).get("alerts", [])
        except (ValueError, AttributeError):
            alerts = []
        with LOCK:
            for a in alerts:
                name = a.get("labels", {}).get("alertname", "?")
                RECEIVED.append(f"{a.get('status', '?')} {name}")
        self.send_response(200 if alerts else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        with LOCK:
            body = "".join(f"{line}\n" for line in RECEIVED).encode()
        self.send_response(200 if self.path == "/received" else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9095
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
