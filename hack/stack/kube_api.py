"""A minimal read-only client of the local API server for the host-side companions: the admin
kubeconfig's client certificate, and only a loopback server (hard rule: nothing leaves the
machine)."""

from __future__ import annotations

import base64
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import httpx
import yaml


class Kube:
    def __init__(self, kubeconfig: Path, state: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(
            c["cluster"] for c in config["clusters"] if c["name"] == context["context"]["cluster"]
        )
        user = next(u["user"] for u in config["users"] if u["name"] == context["context"]["user"])
        server = cluster["server"]
        if not ipaddress.ip_address(httpx.URL(server).host).is_loopback:
            raise SystemExit(f"refusing a non-loopback API server {server}")
        files = {}
        for key in ("certificate-authority", "client-certificate", "client-key"):
            path = state / f"{key}.pem"
            path.touch(mode=0o600)  # the client key: never readable by others, not even briefly
            path.chmod(0o600)
            path.write_bytes(base64.b64decode(cluster.get(f"{key}-data") or user[f"{key}-data"]))
            files[key] = str(path)
        tls = ssl.create_default_context(cafile=files["certificate-authority"])
        tls.load_cert_chain(files["client-certificate"], files["client-key"])
        self.client = httpx.Client(base_url=server, verify=tls, timeout=10)

    def items(self, path: str) -> list[dict[str, Any]]:
        """The items of a list, or none when the resource does not exist (yet)."""
        response = self.client.get(path)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items
