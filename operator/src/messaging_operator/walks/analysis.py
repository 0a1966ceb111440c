"""Canary analysis: PromQL for the standard request metrics, and a verdict from the answers.

Every service exports (services/kit/src/messaging_kit/metrics.py):
  http_requests_total{service, version, route, method, status_class}
  http_request_duration_seconds_bucket{service, version, route, method, le}
The queries here are pure strings; `judge` turns the JSON bodies of Prometheus's
/api/v1/query into a verdict with the numbers, so the condition message can quote them.
Fetching is someone else's job (a tiny HTTP client beside the reconcile loop).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PASSED = "Pass"
FAILED = "Fail"
WAIT = "Wait"

# Kubelet probes hit /health and /ready every few seconds on every pod: counted, they would
# satisfy minRequests on a canary nobody uses and dilute its error rate towards zero.
PROBE_ROUTES = "/health|/ready"
# With a stable at zero errors a ratio threshold would fail a canary for a single error;
# the baseline is never taken below this share (0.1 %).
ERROR_RATE_FLOOR = 0.001
# Likewise a baseline p95 is never taken below one millisecond.
LATENCY_FLOOR_MS = 1.0


@dataclass(frozen=True)
class Thresholds:
    """What a canary (or a newly migrated service) must stay under; None disables a check."""

    max_error_rate: float | None = 0.01
    max_p95_latency_ms: float | None = 200.0
    # Relative: the canary's number divided by the stable's, over the same window.
    max_error_rate_ratio: float | None = None
    max_p95_latency_ratio: float | None = None
    min_requests: int = 100
    failure_limit: int = 3

    @classmethod
    def from_spec(cls, raw: Mapping[str, Any] | None) -> Thresholds:
        raw = raw or {}
        default = cls()

        def number(key: str, fallback: float | None) -> float | None:
            value = raw.get(key, fallback)
            return None if value is None else float(value)

        return cls(
            max_error_rate=number("maxErrorRate", default.max_error_rate),
            max_p95_latency_ms=number("maxP95LatencyMs", default.max_p95_latency_ms),
            max_error_rate_ratio=number("maxErrorRateRatio", None),
            max_p95_latency_ratio=number("maxP95LatencyRatio", None),
            min_requests=int(raw.get("minRequests", default.min_requests)),
            failure_limit=max(1, int(raw.get("failureLimit", default.failure_limit))),
        )


@dataclass(frozen=True)
class Target:
    """Which series to judge: a service at a version (the canary) and its baseline."""

    service: str
    version: str
    # The stable version to compare with; None when there is none (a migration from the
    # legacy monolith, which does not export our metrics).
    baseline_version: str | None = None


@dataclass(frozen=True)
class AnalysisResult:
    verdict: str  # PASSED, FAILED or WAIT
    reason: str  # CamelCase, for conditions and Events
    message: str
    requests: float | None = None
    error_rate: float | None = None
    p95_latency_ms: float | None = None
    baseline_requests: float | None = None
    baseline_error_rate: float | None = None
    baseline_p95_latency_ms: float | None = None

    def to_status(self) -> dict[str, Any]:
        numbers = {
            "requests": self.requests,
            "errorRate": self.error_rate,
            "p95LatencyMs": self.p95_latency_ms,
            "baselineRequests": self.baseline_requests,
            "baselineErrorRate": self.baseline_error_rate,
            "baselineP95LatencyMs": self.baseline_p95_latency_ms,
        }
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "message": self.message,
            **{k: round(v, 6) for k, v in numbers.items() if v is not None},
        }

    @classmethod
    def from_status(cls, raw: Mapping[str, Any]) -> AnalysisResult:
        def number(key: str) -> float | None:
            value = raw.get(key)
            return None if value is None else float(value)

        return cls(
            verdict=str(raw.get("verdict", WAIT)),
            reason=str(raw.get("reason", "Unknown")),
            message=str(raw.get("message", "")),
            requests=number("requests"),
            error_rate=number("errorRate"),
            p95_latency_ms=number("p95LatencyMs"),
            baseline_requests=number("baselineRequests"),
            baseline_error_rate=number("baselineErrorRate"),
            baseline_p95_latency_ms=number("baselineP95LatencyMs"),
        )


def label_value(value: str) -> str:
    """A PromQL string literal (versions are validated by the CRD, but quote them anyway)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def selector(service: str, version: str, extra: str = "") -> str:
    labels = [
        f"service={label_value(service)}",
        f"version={label_value(version)}",
        f'route!~"{PROBE_ROUTES}"',
    ]
    if extra:
        labels.append(extra)
    return "{" + ", ".join(labels) + "}"


def request_count_query(service: str, version: str, window: str) -> str:
    return f"sum(increase(http_requests_total{selector(service, version)}[{window}]))"


def error_rate_query(service: str, version: str, window: str) -> str:
    """The 5xx share of all requests in the window (no data without traffic).

    `or vector(0)`: a version that never answered 5xx has no such series at all, and a
    division by an empty vector is empty, which would read as "no data" instead of 0 %.
    """
    errors = selector(service, version, 'status_class="5xx"')
    every = selector(service, version)
    return (
        f"(sum(increase(http_requests_total{errors}[{window}])) or vector(0))"
        f" / sum(increase(http_requests_total{every}[{window}]))"
    )


def p95_latency_query(service: str, version: str, window: str) -> str:
    """p95 in seconds, interpolated inside the histogram's buckets (see LATENCY_BUCKETS)."""
    buckets = f"http_request_duration_seconds_bucket{selector(service, version)}"
    return f"histogram_quantile(0.95, sum by (le) (rate({buckets}[{window}])))"


def analysis_queries(target: Target, window: str) -> dict[str, str]:
    """Name -> PromQL; `judge` expects the answers under the same names."""
    queries = {
        "requests": request_count_query(target.service, target.version, window),
        "errorRate": error_rate_query(target.service, target.version, window),
        "p95Latency": p95_latency_query(target.service, target.version, window),
    }
    if target.baseline_version is not None:
        base = target.baseline_version
        queries |= {
            "baselineRequests": request_count_query(target.service, base, window),
            "baselineErrorRate": error_rate_query(target.service, base, window),
            "baselineP95Latency": p95_latency_query(target.service, base, window),
        }
    return queries


class QueryError(ValueError):
    """Prometheus answered with an error, or with something that is not an instant vector."""


def scalar(response: Mapping[str, Any]) -> float | None:
    """The single number of an /api/v1/query answer; None when there is no data (or NaN)."""
    if response.get("status") != "success":
        raise QueryError(f"{response.get('errorType', 'error')}: {response.get('error', '')}")
    data = response.get("data") or {}
    result = data.get("result")
    kind = data.get("resultType")
    if kind == "scalar" and isinstance(result, list):
        raw = result[1]
    elif kind == "vector" and isinstance(result, list):
        if not result:
            return None
        if len(result) > 1:
            raise QueryError(f"expected one series, got {len(result)}")
        raw = result[0]["value"][1]
    else:
        raise QueryError(f"unexpected result type {kind!r}")
    value = float(raw)
    return None if math.isnan(value) or math.isinf(value) else value


def _percent(share: float) -> str:
    return f"{share * 100:.2f}%"


def judge(thresholds: Thresholds, responses: Mapping[str, Mapping[str, Any]]) -> AnalysisResult:
    """A verdict from the answers to `analysis_queries` (name -> JSON body)."""
    try:
        numbers = {name: scalar(body) for name, body in responses.items()}
    except (QueryError, KeyError, IndexError, TypeError, ValueError) as error:
        # A monitoring outage says nothing about the canary: wait, never roll back for it.
        return AnalysisResult(WAIT, "MetricsUnavailable", f"Prometheus query failed: {error}")
    requests = numbers.get("requests") or 0.0
    error_rate = numbers.get("errorRate")
    p95 = numbers.get("p95Latency")
    p95_ms = None if p95 is None else p95 * 1000
    base_requests = numbers.get("baselineRequests")
    base_rate = numbers.get("baselineErrorRate")
    base_p95 = numbers.get("baselineP95Latency")
    base_p95_ms = None if base_p95 is None else base_p95 * 1000
    found = {
        "requests": requests,
        "error_rate": error_rate,
        "p95_latency_ms": p95_ms,
        "baseline_requests": base_requests,
        "baseline_error_rate": base_rate,
        "baseline_p95_latency_ms": base_p95_ms,
    }
    if requests < thresholds.min_requests:
        message = (
            f"{requests:.0f} requests in the window, fewer than minRequests "
            f"{thresholds.min_requests}: waiting for traffic"
        )
        return AnalysisResult(WAIT, "TooFewRequests", message, **found)

    breaches = []
    error_rate = error_rate or 0.0
    if thresholds.max_error_rate is not None and error_rate > thresholds.max_error_rate:
        breaches.append(
            f"error rate {_percent(error_rate)} > {_percent(thresholds.max_error_rate)}"
        )
    if (
        thresholds.max_p95_latency_ms is not None
        and p95_ms is not None
        and p95_ms > thresholds.max_p95_latency_ms
    ):
        breaches.append(f"p95 {p95_ms:.0f} ms > {thresholds.max_p95_latency_ms:.0f} ms")
    # A baseline with too little traffic of its own is no yardstick: skip relative checks.
    baseline_usable = base_requests is not None and base_requests >= thresholds.min_requests
    if baseline_usable and thresholds.max_error_rate_ratio is not None:
        limit = thresholds.max_error_rate_ratio * max(base_rate or 0.0, ERROR_RATE_FLOOR)
        if error_rate > limit:
            breaches.append(
                f"error rate {_percent(error_rate)} > {thresholds.max_error_rate_ratio:g}x "
                f"stable's {_percent(base_rate or 0.0)}"
            )
    if (
        baseline_usable
        and thresholds.max_p95_latency_ratio is not None
        and p95_ms is not None
        and base_p95_ms is not None
    ):
        limit = thresholds.max_p95_latency_ratio * max(base_p95_ms, LATENCY_FLOOR_MS)
        if p95_ms > limit:
            breaches.append(
                f"p95 {p95_ms:.0f} ms > {thresholds.max_p95_latency_ratio:g}x "
                f"stable's {base_p95_ms:.0f} ms"
            )
    summary = f"{requests:.0f} requests, error rate {_percent(error_rate)}" + (
        f", p95 {p95_ms:.0f} ms" if p95_ms is not None else ""
    )
    if breaches:
        return AnalysisResult(FAILED, "ThresholdExceeded", "; ".join(breaches), **found)
    return AnalysisResult(PASSED, "WithinThresholds", summary, **found)
