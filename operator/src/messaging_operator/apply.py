"""Decide which desired objects need a server-side apply; a steady state needs none.

Each applied object carries a hash of what we sent. An apply is skipped when the live object
has that same hash (our intent is unchanged) and still holds every field we set (nobody edited
it since). Removed fields change the hash; edits by hand break the containment: both re-apply.
"""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.metadata import APPLIED_HASH_ANNOTATION, content_hash

# Kinds whose objects are immutable after creation (Jobs) or whose data we must never rewrite
# once created by hand or by us in a race; for them an existing object is left alone.
CREATE_ONLY_KINDS = frozenset({"Job"})


def with_applied_hash(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` with the hash of what it asks for. Only the metadata is copied: the rest is shared
    with `obj`, which nothing mutates (a deep copy of every child on every pass was most of a
    steady reconcile's CPU)."""
    metadata = obj["metadata"]
    annotations = {
        key: value
        for key, value in (metadata.get("annotations") or {}).items()
        if key != APPLIED_HASH_ANNOTATION
    }
    annotations[APPLIED_HASH_ANNOTATION] = content_hash(obj)
    return {**obj, "metadata": {**metadata, "annotations": annotations}}


def _scalar_equal(want: Any, have: Any) -> bool:
    if want == have:
        return True
    # The API server may echo numbers we sent as strings (or the reverse) in int-or-string fields.
    if isinstance(want, bool) or isinstance(have, bool):
        return False
    if isinstance(want, int | str) and isinstance(have, int | str):
        return str(want) == str(have)
    return False


def first_difference(want: Any, have: Any, path: str = "") -> str | None:
    """The first path where `have` does not contain `want` (None when it does)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return path or "."
        for key, value in want.items():
            if key not in have:
                # An empty map or list we sent may be dropped by the server; that is no change.
                if value in ({}, []):
                    continue
                return f"{path}.{key}"
            found = first_difference(value, have[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return path
        for index, (w, h) in enumerate(zip(want, have, strict=True)):
            found = first_difference(w, h, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if _scalar_equal(want, have) else path


def apply_reason(desired: dict[str, Any], live: dict[str, Any] | None) -> str | None:
    """Why `desired` must be applied over `live`, or None when it would change nothing."""
    if live is None:
        return "missing"
    if desired["kind"] in CREATE_ONLY_KINDS:
        return None
    stamped = with_applied_hash(desired)
    want_hash = stamped["metadata"]["annotations"][APPLIED_HASH_ANNOTATION]
    have_hash = (live.get("metadata", {}).get("annotations") or {}).get(APPLIED_HASH_ANNOTATION)
    if want_hash != have_hash:
        return "spec changed"
    diff = first_difference(stamped, live)
    return f"drift at {diff}" if diff else None
