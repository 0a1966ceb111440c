"""Serves the web client's build (services/web/dist) on loopback, the way the container's
nginx does: files as they are, hashed assets cached for a year, index.html never cached, and
every other path answered with index.html so the single-page app's own routes survive a reload.

    python hack/stack/web_static.py --root services/web/dist --port 8009
"""

from __future__ import annotations

import argparse
import ipaddress
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

API_PREFIXES = ("/api/", "/ws")


def resolve(root: Path, url_path: str) -> tuple[Path, bool]:
    """The file to send for url_path and whether it may be cached for good; index.html when
    url_path names no file inside root (SPA fallback; `..` never leaves root)."""
    relative = unquote(urlsplit(url_path).path).lstrip("/")
    candidate = (root / relative).resolve()
    inside = candidate == root or root in candidate.parents
    if inside and candidate.is_file():
        return candidate, relative.startswith("assets/")
    return root / "index.html", False


class Handler(SimpleHTTPRequestHandler):
    root: Path

    def send_head(self):  # type: ignore[no-untyped-def]
        if self.path in ("/health", "/health/"):
            body = b"ok\n"
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)
            return None
        if urlsplit(self.path).path.startswith(API_PREFIXES):
            # `/` is the gateway's last route: an API path that reached it has no service.
            self.send_error(HTTPStatus.NOT_FOUND, "no such API route")
            return None
        path, immutable = resolve(self.root, self.path)
        try:
            handle = path.open("rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "no build: run npm run build in services/web")
            return None
        size = path.stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(size))
        self.send_header(
            "Cache-Control", "public, max-age=31536000, immutable" if immutable else "no-cache"
        )
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        return handle

    def log_message(self, format: str, *args: object) -> None:
        pass  # the gateway logs requests; keep this log for errors only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8009)
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("--host must be a loopback address")
    root = args.root.resolve()
    handler = type("RootedHandler", (Handler,), {"root": root})
    with ThreadingHTTPServer((args.host, args.port), handler) as server:
        print(f"serving {root} on http://{args.host}:{args.port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
