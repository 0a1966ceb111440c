"""hack/stack/web_static.py: files as they are, index.html for the app's own routes, never a
file outside the build folder; and the real server answering on loopback."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_static", REPO / "hack/stack/web_static.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("not yours")
    return tmp_path


def test_paths_resolve_to_files_or_the_app(build: Path) -> None:
    resolve = load().resolve
    assert resolve(build, "/assets/index-abc.js") == (build / "assets/index-abc.js", True)
    assert resolve(build, "/index.html") == (build / "index.html", False)
    assert resolve(build, "/") == (build / "index.html", False)
    assert resolve(build, "/chats/42?x=1") == (build / "index.html", False)
    assert resolve(build, "/../secret.txt") == (build / "index.html", False)
    assert resolve(build, "/%2e%2e/secret.txt") == (build / "index.html", False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_server_sends_cache_headers_and_falls_back(build: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "hack/stack/web_static.py"),
            "--root",
            str(build),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        asset = httpx.get(f"{base}/assets/index-abc.js", timeout=2)
        assert "immutable" in asset.headers["Cache-Control"]
        assert asset.headers["Content-Encoding"] == "gzip"  # httpx asks for it and unpacks it
        assert asset.text == "console.log(1)"
        page = httpx.get(f"{base}/some/route", timeout=2)
        assert page.headers["Cache-Control"] == "no-cache"
        assert "<title>app</title>" in page.text
        assert httpx.get(f"{base}/api/v1/nothing", timeout=2).status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=5)
