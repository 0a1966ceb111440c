"""The web client (services/web): its Vitest unit tests, and the Playwright run in headless
Chromium against the local stack (two people register, invite, chat end-to-end encrypted, send
an image, see typing and receipts, one catches up after being offline, a group), followed by
a look into PostgreSQL that no plaintext the browsers typed was stored.

The stack is the one `make up` runs (started with hack/up.sh when part of it is down, as the
end-to-end suite does). The app is used through the gateway at `/`; while the gateway has no
route for it yet, through `vite preview`, which proxies /api and /ws to the gateway.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from e2e.conftest import maildir  # noqa: F401 - the SMTP sink fixture
from e2e.kit import PASSWORD, eventually, gateway_client, mails_to, pg_connect, register
from testkit.platform import ensure_local_platform

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "services/web"
GATEWAY = os.environ.get("E2E_GATEWAY_URL", "http://127.0.0.1:8080")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BROWSER_RUN_SECONDS = 170


def npm(*args: str, timeout: float, env: dict[str, str] | None = None) -> str:
    if shutil.which("npm") is None:
        pytest.fail("npm not found: install nodejs and npm, then run `make setup`", pytrace=False)
    if not (WEB / "node_modules").is_dir():
        pytest.fail("services/web/node_modules missing: run `make setup` (npm ci)", pytrace=False)
    done = subprocess.run(
        ["npm", *args],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"npm {' '.join(args)} failed:\n{output[-6000:]}", pytrace=False)
    return output


def test_unit_tests_pass() -> None:
    output = npm("run", "test:unit", timeout=120)
    assert " passed" in output, output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serves_the_app(url: str) -> bool:
    try:
        page = httpx.get(url, timeout=5)
    except httpx.TransportError:
        return False
    return page.status_code == 200 and '<div id="root">' in page.text


@pytest.fixture(scope="module")
def web_url() -> Iterator[str]:
    if "E2E_GATEWAY_URL" not in os.environ:
        ensure_local_platform()
    if serves_the_app(f"{GATEWAY}/"):
        yield GATEWAY
        return
    npm("run", "build", timeout=120)
    port = free_port()
    preview = subprocess.Popen(
        ["npx", "vite", "preview", "--host", "127.0.0.1", "--port", str(port), "--strictPort"],
        cwd=WEB,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MP_GATEWAY_URL": GATEWAY},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not serves_the_app(f"{url}/"):
            if time.monotonic() > deadline or preview.poll() is not None:
                pytest.fail("vite preview did not start (run `make setup`)", pytrace=False)
            time.sleep(0.3)
        yield url
    finally:
        preview.terminate()
        preview.wait(timeout=10)


def rows_holding(database: str, needles: list[str]) -> list[str]:
    """Rows of every table, as PostgreSQL's text (bytea as hex), holding any needle."""
    forms = [form for n in needles for form in (n, n.encode().hex())]
    found = []
    with pg_connect(database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT t::text FROM "{table}" AS t')  # noqa: S608 - catalog names
            found += [
                f"{table}: {row[:200]}"
                for (row,) in cursor.fetchall()
                if any(form in row for form in forms)
            ]
    return found


@pytest.mark.infra
@pytest.mark.cluster
@pytest.mark.local_stores
def test_two_browsers_chat_end_to_end_encrypted(web_url: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make setup` (apt chromium)", pytrace=False)
    report_path = tmp_path / "report.json"
    try:
        npm(
            "run",
            "test:e2e",
            timeout=BROWSER_RUN_SECONDS,
            env={
                "WEB_URL": web_url,
                "E2E_REPORT": str(report_path),
                "CHROMIUM": CHROMIUM,
                # The README's screenshots are renewed by hand (`npm run test:e2e`), not by CI.
                "E2E_SCREENSHOTS": str(tmp_path / "screenshots"),
            },
        )
    finally:
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
    assert report.get("ok"), report.get("error")
    assert report["console_errors"] == []
    plaintexts: list[str] = report["plaintexts"]
    assert len(plaintexts) >= 6

    # Whom the browsers registered, then what they stored.
    with pg_connect("users") as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id::text FROM profiles WHERE username = ANY(%s)",
            (list(report["users"].values()),),
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM device_keys WHERE user_id::text = ANY(%s)", (ids,))
        assert cursor.fetchone()[0] == 2, "one published device key per browser"
    assert len(ids) == 2
    with pg_connect("messages") as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT keys FROM messages WHERE sender_id::text = ANY(%s) ORDER BY seq", (ids,)
        )
        stored = [row[0] for row in cursor.fetchall()]
    assert len(stored) >= 6  # five texts and an image sent in the direct chat
    # Each user's wrapped key is a bundle with one wrapped key per device of theirs.
    for keys in stored:
        assert set(keys) == set(ids)
        for value in keys.values():
            bundle = json.loads(base64.b64decode(value))
            assert bundle["v"] == 1
            assert len(bundle["d"]) == 1
    with pg_connect("groups") as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM group_messages WHERE sender_id::text = ANY(%s)", (ids,)
        )
        assert cursor.fetchone()[0] >= 1

    for database in ("messages", "groups", "media", "notifications"):
        hits = rows_holding(database, plaintexts)
        assert not hits, f"plaintext in {database}: {hits[:1]}"
    # The scan does see what is there: the usernames the browsers typed are in users' rows.
    assert rows_holding("users", [report["users"]["alice"]])


VERIFY_LINK = re.compile(r"https?://\S+/verify-email\?token=[A-Za-z0-9_%-]+")


@pytest.mark.infra
@pytest.mark.cluster
@pytest.mark.local_stores
def test_the_mailed_verification_link_opens_the_app_and_verifies(
    web_url: str,
    maildir: Path,  # noqa: F811 - the fixture imported from tests/e2e
) -> None:
    """Register through the gateway, take the link from the welcome mail in the SMTP sink,
    open it in a fresh browser (no login), and auth then says the address is verified."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make setup` (apt chromium)", pytrace=False)
    with gateway_client() as http:
        user = register(http, "verify")
        mail = eventually(lambda: mails_to(maildir, user.email), f"welcome mail to {user.email}")
        body = mail[0].get_body(preferencelist=("plain",))
        assert body is not None
        links = VERIFY_LINK.findall(body.get_content())
        assert len(links) == 1, "one verification link in the welcome mail"
        # The link names auth's PUBLIC_BASE_URL; open the same path on the app under test.
        link = urlsplit(links[0])
        url = f"{web_url}{link.path}?{link.query}"
        assert user.get("/api/v1/auth/me")["email_verified"] is False
        npm("exec", "--", "node", "e2e/verify_email.mjs", timeout=60, env={"VERIFY_URL": url})
        assert user.get("/api/v1/auth/me")["email_verified"] is True


@pytest.mark.infra
@pytest.mark.cluster
def test_a_person_downloads_their_data_then_deletes_the_account(
    web_url: str, tmp_path: Path
) -> None:
    """In the browser: log in, "Download my data" (one JSON of every service's export), then
    delete the account with the password; every service then confirms its erasure."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make setup` (apt chromium)", pytrace=False)
    report_path = tmp_path / "account.json"
    with gateway_client() as http:
        user = register(http, "leaver")
        npm(
            "exec",
            "--",
            "node",
            "e2e/account.mjs",
            timeout=90,
            env={
                "WEB_URL": web_url,
                "LOGIN": user.username,
                "PASSWORD": PASSWORD,
                "E2E_REPORT": str(report_path),
            },
        )
        report = json.loads(report_path.read_text())
        assert report["ok"], report.get("error")
        assert report["console_errors"] == []
        exported = report["export"]
        assert exported["auth"]["email"] == user.email
        assert exported["users"]["profile"]["username"] == user.username
        for service in ("messages", "groups", "media", "relay", "notifications", "websocket"):
            assert exported[service]["user_id"] == str(user.id), service

        def erased() -> dict[str, Any] | None:
            state = http.get(f"/api/v1/auth/erasures/{report['erasure_id']}").json()
            return state if state["complete"] else None

        state = eventually(erased, "every service confirming the erasure", timeout=60)
        assert set(state["services"]) == {
            "users", "messages", "groups", "media", "relay", "notifications", "websocket",
        }  # fmt: skip
        # The old token no longer works anywhere.
        assert user.request("GET", "/api/v1/users/me", expect=None).status_code == 401
