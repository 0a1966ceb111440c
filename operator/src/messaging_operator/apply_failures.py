"""Children the API server refused, told once per cause in a status message of bounded size.

One mistake usually breaks many children the same way (a label too long on every object, a
forbidden kind): the Ready message says each distinct cause once, names a few of the objects
it hit, and REASON says what kind of refusal it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from messaging_operator.condition_messages import bounded
from messaging_operator.kube import ApiError
from messaging_operator.status import Check

# HTTP status of the refusal -> the REASON shown in `kubectl get mp`.
REASONS = {
    400: "ChildRejected",  # malformed: a value the API server cannot even decode
    403: "ChildForbidden",  # the operator's RBAC lacks a kind or verb
    404: "ChildAPINotServed",  # a kind whose API (a CRD) is not installed
    409: "ChildConflict",
    422: "ChildInvalid",  # valid YAML, invalid object: a name, label or value out of bounds
}
# An object named per cause; the rest are counted.
NAMED_PER_CAUSE = 2
# `Invalid value: "<the object's own value>": ` differs per object; the rule it broke does not.
_INVALID_VALUE = re.compile(r'Invalid value: (?:"(?:[^"\\]|\\.)*"|[^:]+): ')
# `Deployment.apps "chat-auth" is invalid: ` prefixes the message of a 422 without causes.
_OBJECT_PREFIX = re.compile(r'^[\w.]+ "[^"]*" is (?:invalid|forbidden): ')


@dataclass(frozen=True)
class ApplyFailure:
    kind: str
    name: str
    status: int
    causes: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.kind} {self.name}"


def failure_of(obj: dict[str, Any], error: ApiError) -> ApplyFailure:
    """What the API server said about one object, without what is particular to that object."""
    body = error.body if isinstance(error.body, dict) else {}
    causes = []
    for cause in (body.get("details") or {}).get("causes") or []:
        text = _INVALID_VALUE.sub("", str(cause.get("message", "")))
        field = cause.get("field")
        causes.append(f"{field}: {text}" if field else text)
    if not causes:
        message = str(body.get("message") or error)
        causes.append(_OBJECT_PREFIX.sub("", message).replace(obj["metadata"]["name"], "<name>"))
    return ApplyFailure(obj["kind"], obj["metadata"]["name"], error.status, tuple(causes))


def describe_failures(failures: Sequence[ApplyFailure]) -> Check:
    """The Ready verdict for children that could not be applied: each cause once."""
    by_cause: dict[str, list[str]] = {}
    for failure in failures:
        for cause in dict.fromkeys(failure.causes):
            by_cause.setdefault(cause, []).append(failure.where)
    parts = []
    for cause, objects in by_cause.items():
        named = ", ".join(objects[:NAMED_PER_CAUSE])
        more = len(objects) - NAMED_PER_CAUSE
        parts.append(f"{cause} ({named}{f' and {more} more' if more > 0 else ''})")
    # The commonest kind of refusal names the REASON (a server error: the server's, not ours).
    statuses = [failure.status for failure in failures]
    commonest = max(sorted(set(statuses)), key=statuses.count)
    reason = REASONS.get(commonest, "APIServerError")
    count = len(failures)
    message = f"{count} object{'s' if count != 1 else ''} refused: " + "; ".join(parts)
    return Check("False", reason, bounded(message), failed=True)
