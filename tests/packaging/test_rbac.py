"""The operator's RBAC is exactly what its code does: no wildcard, no missing verb, no spare one.

The needed permissions are derived from operator/src/messaging_operator by reading the code
(the table of kinds in kinds.py, which drives the client, the reconcile's lists and prunes and
the child watches; the other kopf watches in handlers.py; KubeClient calls; the kinds the
builders emit) and compared with manifests/base/clusterrole.yaml, which the chart renders too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from messaging_operator.kinds import CHILD_KINDS, KINDS, PRUNABLE_KINDS, Watch

from .conftest import REPO

SOURCE = REPO / "operator/src/messaging_operator"
ROLE = REPO / "manifests/base/clusterrole.yaml"
KOPF_DECORATORS_THAT_WRITE = {"create", "update", "delete", "resume", "field", "timer", "daemon"}

Permission = tuple[str, str, str]  # (apiGroup, resource, verb)


def modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(), str(path)) for path in SOURCE.rglob("*.py")}


def kinds_table() -> dict[str, tuple[str, str]]:
    """kinds.py's table: kind -> (apiVersion, plural)."""
    return {kind.name: (kind.api_version, kind.plural) for kind in KINDS}


def object_literals(tree: ast.AST, *, top_level_only: bool) -> list[ast.Dict]:
    """Dict literals with constant "apiVersion" and "kind" keys (Kubernetes objects)."""
    found: list[ast.Dict] = []

    def keys(node: ast.Dict) -> set[str]:
        return {str(k.value) for k in node.keys if isinstance(k, ast.Constant)}

    def visit(node: ast.AST, inside: bool) -> None:
        is_object = isinstance(node, ast.Dict) and {"apiVersion", "kind"} <= keys(node)
        if is_object and not (inside and top_level_only):
            found.append(node)  # type: ignore[arg-type]
        for child in ast.iter_child_nodes(node):
            visit(child, inside or is_object)

    visit(tree, False)
    return found


def literal_kind(node: ast.Dict) -> str:
    for key, value in zip(node.keys, node.values, strict=True):
        if isinstance(key, ast.Constant) and key.value == "kind":
            assert isinstance(value, ast.Constant), ast.unparse(node)
            return str(value.value)
    raise AssertionError(ast.unparse(node))


def builder_kinds() -> set[str]:
    """Kinds of the objects the builders return (nested templates such as a StatefulSet's
    volumeClaimTemplates are created by Kubernetes controllers, not by the operator)."""
    kinds = set()
    for path, tree in modules().items():
        if path.parent.name == "builders":
            kinds |= {literal_kind(d) for d in object_literals(tree, top_level_only=True)}
    return kinds


def group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def needed_permissions() -> dict[Permission, str]:
    """Every permission the code needs, each with the reason found in the code."""
    kinds = kinds_table()
    needed: dict[Permission, str] = {}

    def need(kind: str, verbs: str, why: str, subresource: str = "") -> None:
        assert kind in kinds, f"{kind} ({why}) is missing from kube.py's KINDS"
        api_version, plural = kinds[kind]
        for verb in verbs.split():
            resource = f"{plural}/{subresource}" if subresource else plural
            needed.setdefault((group_of(api_version), resource, verb), why)

    for kind in builder_kinds():
        need(kind, "create patch", "server-side apply of a builders/ object")
    for kind in CHILD_KINDS:
        need(kind, "list", "reconcile.py lists CHILD_KINDS by label")
    for kind in PRUNABLE_KINDS:
        need(kind, "delete", "reconcile.py prunes PRUNABLE_KINDS")
    for entry in KINDS:
        if entry.watch is not Watch.NONE:
            why = f"handlers.py watches {entry.name} ({entry.watch.value})"
            need(entry.name, "list watch", why)

    for path, tree in modules().items():
        where = path.relative_to(SOURCE)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    watch_permissions(decorator, where, needed)
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method, args = node.func.attr, node.args
            first = args[0].value if args and isinstance(args[0], ast.Constant) else None
            if path.name != "kube.py" and method == "request":
                pytest.fail(f"{where}: a raw KubeClient.request call; derive its RBAC by hand")
            if method in {"get", "list"} and isinstance(first, str) and first in kinds:
                need(first, method, f"{where}: client.{method}({first!r})")
            if method == "patch_status" and isinstance(first, str):
                need(first, "patch", f"{where}: client.patch_status", subresource="status")
            if method == "create" and args and isinstance(args[0], ast.Name):
                for kind in created_kinds(tree, args[0].id):
                    need(kind, "create", f"{where}: client.create of a {kind}")

    if '"blockOwnerDeletion": True' in (SOURCE / "spec.py").read_text():
        need("MessagingPlatform", "update", "ownerReferences with blockOwnerDeletion", "finalizers")
    # kopf itself: resource scanning watches CRDs; cluster-wide peering keep-alives.
    for verb in ("list", "watch"):
        needed[("apiextensions.k8s.io", "customresourcedefinitions", verb)] = "kopf scanning"
    for verb in ("list", "watch", "patch"):
        needed[("kopf.dev", "clusterkopfpeerings", verb)] = "kopf peering (leader election)"
    needed[("kopf.dev", "clusterkopfpeerings", "get")] = "peering.py: is this replica active"
    return needed


def watch_permissions(decorator: ast.expr, where: Path, needed: dict[Permission, str]) -> None:
    """@kopf.on.event(group, version, plural): kopf lists and watches; writing handler kinds
    (create/update/timer...) also patch the object for finalizers and progress annotations."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
        return
    name = ast.unparse(decorator.func)
    if not name.startswith("kopf.on.") and not name.startswith("kopf.index"):
        return
    args = [string_value(a) for a in decorator.args]
    if len(args) < 3 or None in args[:3]:
        return  # startup, cleanup, login: no resource
    group, _, plural = (str(a) for a in args[:3])
    verbs = ["list", "watch"]
    if decorator.func.attr in KOPF_DECORATORS_THAT_WRITE:
        verbs.append("patch")
    for verb in verbs:
        needed.setdefault((group, plural, verb), f"{where}: @{name}")


def string_value(node: ast.expr) -> str | None:
    """A string constant, or a name bound to one at module level anywhere in the package."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return module_strings().get(node.id)
    return None


def module_strings() -> dict[str, str]:
    table: dict[str, str] = {}
    for tree in modules().values():
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                table[node.targets[0].id] = node.value.value
    return table


def created_kinds(tree: ast.Module, variable: str) -> set[str]:
    kinds = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", None) == variable
            and isinstance(node.value, ast.Dict)
        ):
            kinds.add(literal_kind(node.value))
    assert kinds, f"client.create({variable}): no object literal assigned to {variable}"
    return kinds


def granted_permissions(rules: list[dict]) -> set[Permission]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.fixture(scope="module")
def rules() -> list[dict]:
    return yaml.safe_load(ROLE.read_text())["rules"]


def test_no_wildcards_and_no_escalation(rules: list[dict]) -> None:
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {rule}"
            assert all("*" not in value for value in rule[field]), f"wildcard in {rule}"
        assert not rule.get("nonResourceURLs"), rule
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), rule
        assert "rbac.authorization.k8s.io" not in rule["apiGroups"], rule


def test_every_kind_the_builders_emit_is_applied_with_create_and_patch(
    rules: list[dict],
) -> None:
    emitted = builder_kinds()
    # The brief's list of children; a builder that stops emitting one should be noticed too.
    assert {
        "Secret",
        "ConfigMap",
        "Service",
        "Deployment",
        "StatefulSet",
        "Job",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "HTTPRoute",
        "NetworkPolicy",
    } <= emitted
    granted = granted_permissions(rules)
    kinds = kinds_table()
    for kind in emitted:
        api_version, plural = kinds[kind]
        for verb in ("create", "patch"):
            assert (group_of(api_version), plural, verb) in granted, f"{kind}: {verb} missing"


def test_rbac_grants_every_permission_the_code_needs(rules: list[dict]) -> None:
    granted = granted_permissions(rules)
    missing = {p: why for p, why in needed_permissions().items() if p not in granted}
    assert not missing, "missing from manifests/base/clusterrole.yaml:\n" + "\n".join(
        f"  {g or 'core'}/{r}: {v}  ({why})" for (g, r, v), why in sorted(missing.items())
    )


def test_rbac_grants_nothing_the_code_does_not_use(rules: list[dict]) -> None:
    needed = needed_permissions()
    spare = sorted(p for p in granted_permissions(rules) if p not in needed)
    assert not spare, "granted but used by no code (remove, or teach this test why):\n" + "\n".join(
        f"  {g or 'core'}/{r}: {v}" for g, r, v in spare
    )


def test_the_rules_group_resources_by_verbs_once(rules: list[dict]) -> None:
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                seen[(group, resource)] += 1
    assert all(n == 1 for n in seen.values()), {k: n for k, n in seen.items() if n > 1}
