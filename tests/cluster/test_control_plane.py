"""The local control plane is a real Kubernetes: these prove each part we rely on.

What is real: etcd, kube-apiserver, kube-controller-manager (deployment, replicaset, job and
garbage-collector controllers) and kube-scheduler. What is simulated: kubelets. kwok writes pod
status on fake nodes, so containers never run; hack/cluster/kwok-stages.yaml says which status.
"""

from __future__ import annotations

import json

import pytest
from testkit.kube import Kubectl, eventually

pytestmark = pytest.mark.cluster


def test_kwok_nodes_are_ready(kubectl: Kubectl) -> None:
    nodes = kubectl.json("get", "nodes", "-l", "type=kwok")["items"]
    assert len(nodes) >= 1
    for node in nodes:
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True", node["metadata"]["name"]


def test_object_round_trip(kubectl: Kubectl, namespace: str) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "probe"},
        "data": {"greeting": "hello"},
    }
    kubectl.apply(cm, namespace)
    stored = kubectl.json("get", "configmap", "probe", "-n", namespace)
    assert stored["data"] == {"greeting": "hello"}
    assert int(stored["metadata"]["resourceVersion"]) > 0


def test_deployment_becomes_ready_on_kwok_nodes(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run(
        "create",
        "deployment",
        "web",
        "--image=example.invalid/web:1",
        "--replicas=3",
        "-n",
        namespace,
    )

    def ready() -> bool:
        status = kubectl.json("get", "deployment", "web", "-n", namespace)["status"]
        return status.get("readyReplicas") == 3

    eventually(ready, what="3 ready replicas")
    pods = kubectl.json("get", "pods", "-n", namespace, "-l", "app=web")["items"]
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    assert all(p["spec"]["nodeName"].startswith("kwok-node-") for p in pods)


def test_garbage_collection_follows_owner_references(kubectl: Kubectl, namespace: str) -> None:
    kubectl.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}}, namespace
    )
    owner_uid = kubectl.json("get", "configmap", "owner", "-n", namespace)["metadata"]["uid"]
    child = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "child",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner_uid}
            ],
        },
        "stringData": {"k": "v"},
    }
    kubectl.apply(child, namespace)
    kubectl.run("delete", "configmap", "owner", "-n", namespace)

    def child_gone() -> bool:
        out = kubectl.run(
            "get", "secret", "child", "-n", namespace, "--ignore-not-found", "-o", "name"
        )
        return out.strip() == ""

    eventually(child_gone, what="the garbage collector to delete the owned Secret")


def test_server_side_apply_tracks_field_managers(kubectl: Kubectl, namespace: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}}
    kubectl.apply(cm, namespace, "--field-manager=first")
    # A second manager claiming the same field conflicts unless it forces.
    cm["data"] = {"a": "2"}
    conflict = kubectl.run(
        "apply",
        "--server-side",
        "--field-manager=second",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=json.dumps(cm),
        check=False,
    )
    assert conflict == ""
    kubectl.apply(cm, namespace, "--field-manager=second", "--force-conflicts")
    stored = kubectl.json("get", "configmap", "ssa", "-n", namespace, "--show-managed-fields")
    managers = {m["manager"] for m in stored["metadata"]["managedFields"]}
    assert "second" in managers
    assert stored["data"] == {"a": "2"}


def _job(name: str, annotations: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": annotations or {}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "example.invalid/job:1"}],
                },
            },
        },
    }


def _job_condition(kubectl: Kubectl, namespace: str, name: str) -> str | None:
    status = kubectl.json("get", "job", name, "-n", namespace).get("status", {})
    for c in status.get("conditions", []):
        if c["type"] in ("Complete", "Failed") and c["status"] == "True":
            return str(c["type"])
    return None


def test_job_completes_through_the_real_job_controller(kubectl: Kubectl, namespace: str) -> None:
    kubectl.apply(_job("ok"), namespace)
    got = eventually(lambda: _job_condition(kubectl, namespace, "ok"), what="Job ok to finish")
    assert got == "Complete"


def test_job_failure_can_be_injected(kubectl: Kubectl, namespace: str) -> None:
    kubectl.apply(_job("bad", {"sim.messaging.platform.dev/exit-code": "3"}), namespace)
    got = eventually(lambda: _job_condition(kubectl, namespace, "bad"), what="Job bad to finish")
    assert got == "Failed"
