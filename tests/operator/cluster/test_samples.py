"""Every shipped sample is accepted by the API server; the external one runs without
in-cluster PostgreSQL or MinIO and points the services at the user's endpoints."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

SAMPLES = Path(__file__).resolve().parents[3] / "manifests" / "samples"


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.yaml")))
def test_sample_is_accepted(kube, module_namespace, sample):
    kube.run("apply", "--dry-run=server", "-n", module_namespace, "-f", str(SAMPLES / sample))


def test_external_sample_uses_the_users_servers(kube, operator, make_namespace):
    ns = make_namespace()
    kube.apply(ns, (SAMPLES / "external.yaml").read_text())
    kube.wait_for(
        lambda: (kube.platform(ns).get("status") or {}).get("phase") == "Ready", 90, "Ready"
    )
    statefulsets = sorted(s["metadata"]["name"] for s in kube.children(ns, "sts"))
    assert statefulsets == ["chat-rabbitmq", "chat-redis"]
    secret = kube.json("get", "secret", "chat-db-messages", "-n", ns)
    url = base64.b64decode(secret["data"]["DATABASE_URL"]).decode()
    assert url.startswith("postgresql://messages:")
    assert url.endswith("@postgres.databases.example.com:5432/messages")
    media = kube.json("get", "deploy", "chat-media", "-n", ns)
    env = {e["name"]: e for e in media["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["S3_ENDPOINT_URL"]["valueFrom"]["secretKeyRef"] == {"name": "s3", "key": "endpoint"}
