"""One table of kinds (kinds.py) drives the client, the reconcile's lists and prunes, and the
watches: every child kind the operator manages is watched, so its drift is repaired at once."""

from __future__ import annotations

import kopf
from messaging_operator import handlers  # noqa: F401 - registers the watches
from messaging_operator.kinds import CHILD_KINDS, KINDS, PRUNABLE_KINDS, Watch
from messaging_operator.kube import resource_path

OURS = {"app.kubernetes.io/managed-by": "messaging-operator"}


def watches() -> dict[tuple[str, str, str], list[dict[str, str] | None]]:
    """(group, version, plural) -> the label filters of the kopf event handlers on it."""
    found: dict[tuple[str, str, str], list[dict[str, str] | None]] = {}
    for handler in kopf.get_default_registry()._watching.get_all_handlers():
        selector = handler.selector
        assert selector is not None
        key = (selector.group or "", selector.version or "", str(selector.any_name))
        found.setdefault(key, []).append(dict(handler.labels) if handler.labels else None)
    return found


def test_every_child_kind_is_watched():
    watched = watches()
    for kind in KINDS:
        if not kind.child:
            continue
        filters = watched.get((kind.group, kind.version, kind.plural))
        assert filters, f"{kind.name} is managed but not watched"
        if kind.watch is Watch.CHILDREN:
            assert filters == [OURS], (kind.name, filters)
        else:  # and the user's objects a platform names: unfiltered
            assert None in filters, (kind.name, filters)


def test_the_cronjob_is_watched_like_the_other_children():
    assert watches()[("batch", "v1", "cronjobs")] == [OURS]


def test_pruned_kinds_are_children_and_records_are_never_pruned():
    assert set(CHILD_KINDS) >= PRUNABLE_KINDS
    assert not {"Secret", "Job", "Pod"} & PRUNABLE_KINDS


def test_the_client_builds_paths_from_the_same_table():
    assert resource_path("CronJob", "team", "chat-auth-backup") == (
        "/apis/batch/v1/namespaces/team/cronjobs/chat-auth-backup"
    )
    assert resource_path("Secret", "team") == "/api/v1/namespaces/team/secrets"
