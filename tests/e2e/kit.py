"""What the end-to-end suite's clients share: where the gateway is, a user who talks to it
(HTTP and websocket), the client-side end-to-end encryption, and polling.

Only the gateway is dialled (E2E_GATEWAY_URL, default http://127.0.0.1:8080, with E2E_HOST as
the Host header when set), plus the presigned URLs media hands out (MinIO on loopback here).

Encryption is the client's business; the servers only ever see ciphertext:
- every user has an X25519 key pair and publishes the public half (base64 of the 32 raw bytes)
  as `public_key` in their users profile;
- a message is AES-256-GCM under a fresh random message key;
- the message key is wrapped for each reader with AES-256-GCM under a key derived (HKDF-SHA256)
  from the X25519 agreement between the sender's private key and the reader's public key, so
  the reader unwraps it with their private key and the sender's published public key.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from testkit.platform import postgres_url
from websockets.http11 import Request
from websockets.sync.client import ClientConnection, connect

GATEWAY = os.environ.get("E2E_GATEWAY_URL", "http://127.0.0.1:8080").rstrip("/")
HOST = os.environ.get("E2E_HOST") or None
PASSWORD = "e2e correct horse battery"
# Direct conversations' ids (services/EVENTS.md, messages).
CONVERSATION_NAMESPACE = uuid.UUID("6f1c2b1e-3a55-4d0e-9c43-5a8e2d7f0b11")

T = TypeVar("T")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def ws_url() -> str:
    parts = urlsplit(GATEWAY)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, "/ws", "", ""))


def headers() -> dict[str, str]:
    return {"Host": HOST} if HOST else {}


def fetch_presigned(url: str) -> httpx.Response:
    """A presigned media URL, fetched as a client fetches it: it names the platform's public host
    (spec.objectStorage.publicUrl), which the gateway serves; here the gateway is reached at
    GATEWAY (a port-forward, say) with the URL's own host in the Host header, which the
    signature covers. Nothing but the gateway is dialled."""
    parts = urlsplit(url)
    local = urlunsplit((*urlsplit(GATEWAY)[:2], parts.path, parts.query, ""))
    return httpx.get(local, headers={"Host": parts.netloc}, timeout=15)


def conversation_id(a: uuid.UUID, b: uuid.UUID) -> uuid.UUID:
    low, high = sorted((str(a), str(b)))
    return uuid.uuid5(CONVERSATION_NAMESPACE, f"{low}:{high}")


def eventually(check: Callable[[], T | None], what: str, timeout: float = 20) -> T:
    """check() until it returns something truthy; fails naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.2)


def gateway_client() -> httpx.Client:
    return httpx.Client(base_url=GATEWAY, headers=headers(), timeout=15)


# --- end-to-end encryption, client side -------------------------------------------------------


def _kek(private: X25519PrivateKey, peer_public: bytes, sender: uuid.UUID, reader: uuid.UUID):
    shared = private.exchange(X25519PublicKey.from_public_bytes(peer_public))
    info = f"e2e wrap {sender}->{reader}".encode()
    return AESGCM(HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(shared))


@dataclass
class Sealed:
    ciphertext: str
    nonce: str
    keys: dict[str, str]  # reader id -> wrapped message key

    def body(self) -> dict[str, Any]:
        return {"ciphertext": self.ciphertext, "nonce": self.nonce, "keys": self.keys}


# --- a user of the platform -----------------------------------------------------------------


@dataclass
class User:
    username: str
    http: httpx.Client
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    access_token: str = ""
    refresh_token: str = ""
    private_key: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)

    @property
    def display_name(self) -> str:
        return f"E2E {self.username.rsplit('_', 1)[1].title()} {RUN}"

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def request(self, method: str, path: str, expect: int | None = 200, **kwargs: Any):
        response = self.http.request(method, path, headers=self.auth(), **kwargs)
        if response.status_code == 404 and response.text.strip() == "no route":
            raise AssertionError(
                f"the gateway has no route for {method} {path}: the HTTPRoutes come from the "
                "operator, which routes every prefix a service serves since 7ac8033; an older "
                "running operator is restarted by `make up` (it restarts on a changed source)"
            )
        if expect is not None:
            assert response.status_code == expect, (
                f"{self.username}: {method} {path} -> {response.status_code} {response.text[:500]}"
            )
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    # encryption

    def seal(self, plaintext: bytes, readers: dict[uuid.UUID, bytes]) -> Sealed:
        """Encrypt for readers ({user id: their public key}); the sender is always a reader."""
        message_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        ciphertext = AESGCM(message_key).encrypt(nonce, plaintext, None)
        keys = {}
        for reader, public in {**readers, self.id: self.public_key}.items():
            wrap_nonce = os.urandom(12)
            wrapped = _kek(self.private_key, public, self.id, reader).encrypt(
                wrap_nonce, message_key, None
            )
            keys[str(reader)] = b64(wrap_nonce + wrapped)
        return Sealed(b64(ciphertext), b64(nonce), keys)

    def open(self, data: dict[str, Any], sender_public: bytes) -> bytes:
        """Decrypt a message (an event's or an API's data with `wrapped_key` for us)."""
        sender = uuid.UUID(data["sender_id"])
        wrapped = unb64(data["wrapped_key"])
        message_key = _kek(self.private_key, sender_public, sender, self.id).decrypt(
            wrapped[:12], wrapped[12:], None
        )
        return AESGCM(message_key).decrypt(unb64(data["nonce"]), unb64(data["ciphertext"]), None)

    def published_key_of(self, other: uuid.UUID) -> bytes:
        """The public key `other` published in their users profile, read through the gateway."""
        profile = self.get(f"/api/v1/users/{other}")
        assert profile["public_key"], f"{other} published no public key"
        return unb64(profile["public_key"])

    # websocket

    @contextmanager
    def socket(self, cursor: str | None = None) -> Iterator[Socket]:
        with connect(ws_url(), create_connection=_HostConnection, open_timeout=10) as connection:
            frame: dict[str, Any] = {"type": "auth", "token": self.access_token}
            if cursor is not None:
                frame["cursor"] = cursor
            connection.send(json.dumps(frame))
            ready = json.loads(connection.recv(timeout=10))
            assert ready["type"] == "ready", ready
            yield Socket(connection, ready["cursor"])


class _HostConnection(ClientConnection):
    """Sends E2E_HOST as the Host header of the handshake (websockets would add a second Host
    header after its own if given one in additional_headers)."""

    def handshake(self, *args: Any, **kwargs: Any) -> None:
        if HOST:
            make_request = self.protocol.connect

            def with_host() -> Request:
                request = make_request()
                del request.headers["Host"]
                request.headers["Host"] = HOST
                return request

            self.protocol.connect = with_host  # type: ignore[method-assign]
        super().handshake(*args, **kwargs)


@dataclass
class Socket:
    connection: ClientConnection
    cursor: str

    def next_event(self, type_: str, timeout: float = 15, **match: Any) -> dict[str, Any]:
        """The next `event` frame of that type whose data has the given values; the frames
        passed over on the way are dropped, the cursor follows every event frame."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {type_} event {match} within {timeout} s")
            try:
                frame = json.loads(self.connection.recv(timeout=left))
            except TimeoutError:
                continue
            if frame.get("type") != "event":
                continue
            self.cursor = frame["cursor"]
            event = frame["event"]
            if event["type"] == type_ and all(event["data"].get(k) == v for k, v in match.items()):
                return event

    def ping(self) -> None:
        self.connection.send(json.dumps({"type": "ping"}))


# --- registration, the SMTP sink, PostgreSQL ----------------------------------------------

RUN = uuid.uuid4().hex[:8]  # names of this run


def register(http: httpx.Client, name: str) -> User:
    """Register through the gateway, log in, publish the X25519 public key in the profile."""
    user = User(username=f"e2e_{RUN}_{name}", http=http)
    created = http.post(
        "/api/v1/auth/register",
        json={
            "email": user.email,
            "username": user.username,
            "password": PASSWORD,
            "display_name": user.display_name,
        },
    )
    assert created.status_code == 201, created.text
    user.id = uuid.UUID(created.json()["user"]["id"])
    login = http.post("/api/v1/auth/login", json={"login": user.username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    user.access_token = login.json()["access_token"]
    user.refresh_token = login.json()["refresh_token"]
    # users makes the profile from auth's user.registered event: wait for it.
    eventually(
        lambda: user.request("GET", "/api/v1/users/me", expect=None).status_code == 200,
        f"{user.username}'s profile in users (from user.registered)",
    )
    user.request("PATCH", "/api/v1/users/me", json={"public_key": b64(user.public_key)})
    return user


def mails_to(maildir: Path, address: str) -> list[EmailMessage]:
    found = []
    for path in maildir.iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if address in str(message.get("To", "")):
            found.append(message)
    return found


def pg_connect(database: str):
    base = postgres_url().rsplit("/", 1)[0]
    try:
        return psycopg2.connect(f"{base}/{database}", connect_timeout=5)
    except psycopg2.OperationalError as error:
        pytest.fail(
            f"PostgreSQL database {database} not reachable ({error}): run `make up`",
            pytrace=False,
        )
