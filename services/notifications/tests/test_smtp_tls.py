"""STARTTLS against a real SMTP server on loopback that offers (and requires) it, and
refusal to send in clear when told to require it."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from messaging_testing.infra import free_port
from notifications_service.core.config import Settings
from notifications_service.core.emails import Email, SmtpMailer, StartTlsRefused

pytestmark = pytest.mark.infra
EMAIL = Email("to@example.test", "To", "Hi", "plain", "<p>html</p>", "<1@platform.test>")


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Recorder:
    def __init__(self) -> None:
        self.received: list[tuple[bool, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((session.ssl is not None, envelope.content))
        return "250 OK"


def settings(port: int, **overrides: Any) -> Settings:
    return Settings(
        database_url="postgresql://unused@127.0.0.1/unused",
        amqp_url="amqp://unused@127.0.0.1/",
        redis_url="redis://127.0.0.1:1/0",
        jwks_url="http://127.0.0.1/unused",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_timeout_seconds=5,
        **overrides,
    )


def test_starttls_is_used_when_offered(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        SmtpMailer(settings(port, smtp_ca_file=str(cert))).send(EMAIL)
    finally:
        controller.stop()
    [(encrypted, content)] = recorder.received
    assert encrypted
    assert b"Subject: Hi" in content


def test_require_refuses_a_server_without_starttls() -> None:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(StartTlsRefused, match="does not offer STARTTLS"):
            SmtpMailer(settings(port, smtp_starttls="require")).send(EMAIL)
        SmtpMailer(settings(port)).send(EMAIL)  # auto: clear text when nothing else is offered
    finally:
        controller.stop()
    assert [encrypted for encrypted, _ in recorder.received] == [False]
