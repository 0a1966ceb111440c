"""The CRD file itself (its behaviour on a real API server is in test_cluster.py)."""

from pathlib import Path

import yaml

CRD = Path(__file__).resolve().parents[2] / "crds" / "messagingplatforms.yaml"


def test_names_columns_and_status_subresource():
    crd = yaml.safe_load(CRD.read_text())
    assert crd["spec"]["names"]["shortNames"] == ["mp"]
    version = crd["spec"]["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert columns == [
        "Phase", "Ready", "Version", "Canaries", "Migrated", "Reason", "Walks", "Age",
    ]  # fmt: skip


def test_per_service_canary_and_migration_are_in_the_schema():
    crd = yaml.safe_load(CRD.read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    service = spec["properties"]["services"]["additionalProperties"]["properties"]
    assert {"canary", "migration", "replicas", "version", "autoscaling"} <= set(service)
    migration = service["migration"]["properties"]
    # No default weight: weight and steps exclude each other (the operator reads absent as 100).
    assert "default" not in migration["weight"]
    assert {"weight", "steps", "interval", "analysis", "onFailure", "abort"} <= set(migration)
    assert "keepWarm" in service["canary"]["properties"]


def test_store_durability_defaults_to_durable_and_documents_the_relaxed_trade_off():
    crd = yaml.safe_load(CRD.read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    for store in ("postgres", "redis"):
        durability = spec["properties"][store]["properties"]["durability"]
        assert durability["enum"] == ["durable", "relaxed"]
        assert durability["default"] == "durable"
        assert "loses" in durability["description"]


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; kubectl refuses the file. So do we."""


def _no_duplicate_keys(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        assert key not in seen, f"duplicate key {key!r} at line {key_node.start_mark.line + 1}"
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys)


def test_no_mapping_key_appears_twice():
    yaml.load(CRD.read_text(), _StrictLoader)  # noqa: S506 - a SafeLoader subclass
