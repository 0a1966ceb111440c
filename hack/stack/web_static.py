"""Serves the web client's build (services/web/dist) on loopback, the way the container's
nginx does: files gzipped when the browser accepts it, hashed assets cached for a year,
index.html never cached, and every other path answered with index.html so the single-page
app's own routes survive a reload.

    python hack/stack/web_static.py --root services/web/dist --port 8009
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import ipaddress
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

API_PREFIXES = ("/api/", "/ws")
COMPRESSIBLE = (".js", ".css", ".html", ".svg", ".json", ".txt")


@functools.lru_cache(maxsize=64)
def gzipped(path: Path, mtime_ns: int) -> bytes:
    """The file gzipped (once per version of it: the key holds its mtime)."""
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


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

    def send_head(self) -> io.BytesIO | None:
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
            stat = path.stat()
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "no build: run npm run build in services/web")
            return None
        compress = path.suffix in COMPRESSIBLE and "gzip" in self.headers.get("Accept-Encoding", "")
        body = gzipped(path, stat.st_mtime_ns) if compress else path.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(body)))
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header(
            "Cache-Control", "public, max-age=31536000, immutable" if immutable else "no-cache"
        )
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        return io.BytesIO(body)

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
