"""Condition messages as people read them: one line, bounded, each cause once."""

from __future__ import annotations

from collections.abc import Iterable

# A condition message is read in `kubectl get mp -o wide` and `describe`: one line, this long
# at most. Enough for a few causes with the objects they hit; the rest is in Events and logs.
MESSAGE_LIMIT = 300


def bounded(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """One line (newlines and runs of blanks become one space), cut with an ellipsis."""
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def distinct(parts: Iterable[str]) -> list[str]:
    """`parts` in order, each once: one cause hitting many objects is said once."""
    return list(dict.fromkeys(parts))
