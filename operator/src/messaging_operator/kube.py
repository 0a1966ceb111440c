"""A small async Kubernetes API client on aiohttp, using kopf's own login.

kopf already ships aiohttp and reads the kubeconfig or the service account; reusing both keeps the
official `kubernetes` client (the largest import in a typical kopf operator) out of the process.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import kopf

from messaging_operator import login as operator_login
from messaging_operator.kinds import KINDS as TABLE

FIELD_MANAGER = "messaging-operator"
# The pid tells replicas apart in the audit log (tests check who wrote what).
USER_AGENT = f"messaging-operator/0.1 (pid {os.getpid()})"

# kind -> (apiVersion, plural), from the one table of kinds (kinds.py).
KINDS: dict[str, tuple[str, str]] = {kind.name: (kind.api_version, kind.plural) for kind in TABLE}


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"HTTP {status}: {message}")


def resource_path(kind: str, namespace: str | None, name: str | None = None) -> str:
    api_version, plural = KINDS[kind]
    prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    path = f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"
    return f"{path}/{name}" if name else path


def _material(path: Any, data: Any, folder: Path, filename: str) -> str | None:
    """kubeconfig material is either a path or base64 data; ssl wants a path."""
    if path:
        return str(path)
    if not data:
        return None
    target = folder / filename
    raw = data if isinstance(data, bytes) else data.encode()
    target.write_bytes(base64.b64decode(raw))
    return str(target)


def ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
    if info.insecure:
        return False
    folder = Path(tempfile.mkdtemp(prefix="messaging-operator-"))
    ca = _material(info.ca_path, info.ca_data, folder, "ca.crt")
    context = ssl.create_default_context(cafile=ca)
    cert = _material(info.certificate_path, info.certificate_data, folder, "client.crt")
    key = _material(info.private_key_path, info.private_key_data, folder, "client.key")
    if cert:
        context.load_cert_chain(cert, key)
    return context


class KubeClient:
    def __init__(self, info: kopf.ConnectionInfo) -> None:
        self.info = info
        self.session = aiohttp.ClientSession(
            base_url=info.server.rstrip("/") + "/",
            headers={**info.as_http_headers(), "User-Agent": USER_AGENT},
            connector=aiohttp.TCPConnector(ssl=ssl_context(info), limit=16),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        # The resourceVersion each of our own status writes produced, per object: the watch
        # event echoing it carries nothing new (handlers.py skips it).
        self.own_status_versions: dict[tuple[str, str], str] = {}
        # Counted so tests and logs can say how many writes a reconcile made.
        self.writes = 0

    @classmethod
    def from_environment(cls, settings: kopf.OperatorSettings) -> KubeClient:
        info = operator_login.login(os.environ, settings=settings)
        if info is None:
            raise RuntimeError("no Kubernetes credentials: set KUBECONFIG or run in a pod")
        return cls(info)

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        if method != "GET":
            self.writes += 1
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session.request(
            method, path.lstrip("/"), params=params, data=data, headers=headers
        ) as response:
            text = await response.text()
            payload: Any = json.loads(text) if text.startswith("{") else text
            if response.status >= 400:
                raise ApiError(response.status, payload)
            return payload

    async def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self.request("GET", resource_path(kind, namespace, name))
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return result

    async def api_served(self, group_version: str) -> bool:
        """Whether the API server serves `group/version` (e.g. an optional CRD's group)."""
        try:
            await self.request("GET", f"/apis/{group_version}")
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def list(self, kind: str, namespace: str | None, selector: str) -> list[dict[str, Any]]:
        try:
            result = await self.request(
                "GET", resource_path(kind, namespace), params={"labelSelector": selector}
            )
        except ApiError as error:
            if error.status == 404:  # an optional API (Gateway API) that is not installed
                return []
            raise
        items: list[dict[str, Any]] = result.get("items", [])
        api_version = KINDS[kind][0]
        for item in items:  # list items come without apiVersion/kind
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply: we own exactly the fields we send, and take them back on conflict."""
        meta = obj["metadata"]
        result: dict[str, Any] = await self.request(
            "PATCH",
            resource_path(obj["kind"], meta.get("namespace"), meta["name"]),
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            body=obj,
            content_type="application/apply-patch+yaml",
        )
        return result

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        result: dict[str, Any] = await self.request(
            "POST",
            resource_path(obj["kind"], meta.get("namespace")),
            params={"fieldManager": FIELD_MANAGER},
            body=obj,
        )
        return result

    async def delete(self, kind: str, namespace: str | None, name: str) -> None:
        try:
            await self.request(
                "DELETE",
                resource_path(kind, namespace, name),
                body={"propagationPolicy": "Background"},
            )
        except ApiError as error:
            if error.status != 404:
                raise

    async def patch_status(
        self, kind: str, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self.request(
            "PATCH",
            resource_path(kind, namespace, name) + "/status",
            params={"fieldManager": FIELD_MANAGER},
            body={"status": status},
            content_type="application/merge-patch+json",
        )
        version = (result.get("metadata") or {}).get("resourceVersion")
        if version:
            self.own_status_versions[(namespace, name)] = version
        return result
