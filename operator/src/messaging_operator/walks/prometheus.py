"""A tiny Prometheus client: the analysis queries over /api/v1/query, with a timeout.

Whatever goes wrong (unreachable, slow, an HTTP error, a body that is not JSON) becomes an
error answer, which `judge` turns into a Wait: a monitoring outage never rolls a canary back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from messaging_operator.walks.analysis import (
    AnalysisResult,
    Target,
    Thresholds,
    analysis_queries,
    judge,
)

QUERY_TIMEOUT_SECONDS = 5.0


def _error(message: str) -> dict[str, Any]:
    return {"status": "error", "errorType": "unavailable", "error": message}


async def query(session: aiohttp.ClientSession, base_url: str, promql: str) -> Mapping[str, Any]:
    url = base_url.rstrip("/") + "/api/v1/query"
    try:
        async with session.get(url, params={"query": promql}) as response:
            body = await response.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as error:
        return _error(f"{url}: {type(error).__name__} {error}".strip())
    if not isinstance(body, dict):
        return _error(f"{url}: answer is not a JSON object")
    return body


async def analyse(
    base_url: str,
    target: Target,
    window: str,
    thresholds: Thresholds,
    timeout: float = QUERY_TIMEOUT_SECONDS,
) -> AnalysisResult:
    """The verdict over the last `window` for `target`, from the Prometheus at `base_url`."""
    queries = analysis_queries(target, window)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        names = list(queries)
        answers = await asyncio.gather(*(query(session, base_url, queries[n]) for n in names))
    return judge(thresholds, dict(zip(names, answers, strict=True)))
