"""Stand-in for an app service: 200 on the health path and under the route.

Usage: standin.py NAME PORT ROUTE HEALTH_PATH

Every answer names the service and this container's host name, so a test
can see which task served a request through the load balancer.
"""

import http.server
import signal
import socket
import sys


def main():
    name, port, route, health = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    host = socket.gethostname()
    prefix = route.rstrip("/") + "/"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path.split("?", 1)[0]
            ok = path == health or path == route or path.startswith(prefix) or route == "/"
            body = f"service={name} host={host} path={path}\n".encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, fmt, *args):
            pass

    # PID 1 ignores SIGTERM unless it handles it: stop at once like an app would.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
