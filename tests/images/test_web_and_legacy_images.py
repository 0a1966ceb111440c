"""The web client's image serves the app (index, its hashed assets, the single-page fallback and
/health) from an unprivileged nginx on a read-only root; the legacy stand-in answers for every
service prefix. Both run in a network namespace of their own, asked by a client joined to it."""

from __future__ import annotations

import json

import pytest
from images.engine import HARDENED, Containers, image_config, require_image
from testkit.kube import eventually

pytestmark = pytest.mark.images

FETCH = """
import json, sys, urllib.request, urllib.error
out = {}
for path in sys.argv[1:]:
    try:
        with urllib.request.urlopen('http://127.0.0.1:%s' % path, timeout=3) as r:
            out[path] = [r.status, r.headers.get('Content-Type', ''), r.read().decode()[:400]]
    except urllib.error.HTTPError as e:
        out[path] = [e.code, e.headers.get('Content-Type', ''), '']
print(json.dumps(out))
"""


def fetch(containers: Containers, server: str, *paths: str) -> dict[str, list]:
    done = containers.exec_in_netns(
        server, require_image("auth"), "-c", FETCH, *paths, entrypoint="python3"
    )
    if done.returncode != 0:
        return {}
    return json.loads(done.stdout)


def test_web_image_serves_the_app_unprivileged(containers: Containers) -> None:
    image = require_image("web")
    assert image_config(image)["Config"]["User"] == "101:101"
    server = containers.run(image, options=("--network", "none", *HARDENED))
    eventually(
        lambda: containers.running(server) and fetch(containers, server, "8080/health"),
        60,
        "nginx in the web image",
    )
    index = fetch(containers, server, "8080/", "8080/health", "8080/chats/42", "8080/api/v1/x")
    status, content_type, body = index["8080/"]
    assert (status, content_type.split(";")[0]) == (200, "text/html"), index
    assert '<div id="root">' in body or "<script" in body
    asset = body.split('src="', 1)[1].split('"', 1)[0]
    assert asset.startswith("/assets/"), asset
    script = fetch(containers, server, f"8080{asset}")[f"8080{asset}"]
    assert script[0] == 200, script
    assert "javascript" in script[1], script
    assert index["8080/health"][0] == 200
    assert index["8080/chats/42"][0] == 200  # the app's own route survives a reload
    assert index["8080/api/v1/x"][0] == 404  # an API path has no business here


def test_legacy_image_answers_for_every_service(containers: Containers) -> None:
    image = require_image("legacy")
    server = containers.run(image, options=("--network", "none", *HARDENED))
    eventually(
        lambda: containers.running(server) and fetch(containers, server, "8000/api/v1/auth/x"),
        60,
        "the legacy stand-in",
    )
    answers = fetch(containers, server, "8000/api/v1/auth/login", "8000/api/v1/messages/1")
    for path, (status, _, body) in answers.items():
        assert status == 200, (path, body)
        assert json.loads(body)["served_by"] == "legacy", (path, body)
