"""The web client's image (services/web/Dockerfile): it lints, builds in one stage and serves
from an unprivileged nginx in the last, on the port of the operator's web Service.
tests/node runs the built image on the real node."""

from __future__ import annotations

from pathlib import Path

from .conftest import REPO, run

WEB = REPO / "services/web"


def test_web_dockerfile_passes_hadolint(hadolint: Path) -> None:
    run(hadolint, "--failure-threshold", "info", WEB / "Dockerfile")


def test_web_image_is_multi_stage_and_non_root() -> None:
    text = (WEB / "Dockerfile").read_text()
    build, prebuilt, dist, final = text.split("\nFROM ")[1:]
    assert "npm ci" in build
    assert "npm run build" in build
    # Without a registry (no Node image) the host's `npm run build` output is taken instead.
    assert prebuilt.startswith("scratch AS prebuilt")
    assert dist.startswith("${DIST_FROM} AS dist")
    assert "ARG DIST_FROM=build" in text
    assert "COPY --from=dist /app/dist /usr/share/nginx/html" in final
    assert 'CMD ["nginx", "-g", "daemon off;"]' in final
    assert "\nUSER 101:101\n" in final
    assert "EXPOSE 8080" in final
    assert "npm" not in final
    nginx = (WEB / "nginx.conf").read_text()
    assert "listen 8080;" in nginx
    assert "try_files $uri /index.html;" in nginx
    # What the image copies exists, and the build context leaves local clutter out.
    for name in ("package.json", "package-lock.json", "index.html", "tsconfig.json", "app"):
        assert (WEB / name).exists(), name
    assert "node_modules" in (WEB / ".dockerignore").read_text().split()
