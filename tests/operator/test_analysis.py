"""Analysis: the PromQL we send and the verdicts we draw from Prometheus's answers."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from messaging_operator.walks.analysis import (
    FAILED,
    PASSED,
    WAIT,
    AnalysisResult,
    QueryError,
    Target,
    Thresholds,
    analysis_queries,
    error_rate_query,
    judge,
    p95_latency_query,
    request_count_query,
    scalar,
)


def vector(value):
    """An /api/v1/query answer with one sample, as Prometheus sends it."""
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1.7e9, str(value)]}]},
    }


EMPTY = {"status": "success", "data": {"resultType": "vector", "result": []}}


def answers(requests, error_rate, p95_s, base=None):
    out = {
        "requests": vector(requests),
        "errorRate": vector(error_rate),
        "p95Latency": vector(p95_s),
    }
    if base is not None:
        out |= {
            "baselineRequests": vector(base[0]),
            "baselineErrorRate": vector(base[1]),
            "baselineP95Latency": vector(base[2]),
        }
    return out


def test_queries_use_the_kits_metric_and_label_names():
    count = request_count_query("auth", "1.1.0", "2m")
    assert count.startswith("sum(increase(http_requests_total{")
    assert 'service="auth"' in count
    assert 'version="1.1.0"' in count
    assert count.endswith("[2m]))")
    errors = error_rate_query("auth", "1.1.0", "2m")
    assert 'status_class="5xx"' in errors
    # Without any 5xx series the share is 0, not "no data".
    assert "or vector(0)" in errors
    p95 = p95_latency_query("auth", "1.1.0", "5m")
    assert p95.startswith("histogram_quantile(0.95, sum by (le) (rate(")
    assert "http_request_duration_seconds_bucket{" in p95
    assert "[5m]" in p95


def test_probes_are_not_traffic():
    for query in (
        request_count_query("users", "2", "1m"),
        error_rate_query("users", "2", "1m"),
        p95_latency_query("users", "2", "1m"),
    ):
        assert 'route!~"/health|/ready"' in query


def test_label_values_are_quoted():
    query = request_count_query("auth", 'x"y\\z', "1m")
    assert 'version="x\\"y\\\\z"' in query


def test_baseline_queries_only_with_a_baseline():
    alone = analysis_queries(Target("auth", "1.1.0"), "2m")
    assert set(alone) == {"requests", "errorRate", "p95Latency"}
    both = analysis_queries(Target("auth", "1.1.0", baseline_version="1.0.0"), "2m")
    assert set(both) == set(alone) | {"baselineRequests", "baselineErrorRate", "baselineP95Latency"}
    assert 'version="1.0.0"' in both["baselineErrorRate"]
    assert 'version="1.1.0"' in both["errorRate"]


def test_scalar_reads_vectors_scalars_and_no_data():
    assert scalar(vector(0.25)) == 0.25
    assert scalar({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}}) == 3
    assert scalar(EMPTY) is None
    assert scalar(vector("NaN")) is None
    with pytest.raises(QueryError, match="bad_data"):
        scalar({"status": "error", "errorType": "bad_data", "error": "parse error"})
    two = {"status": "success", "data": {"resultType": "vector", "result": [{}, {}]}}
    with pytest.raises(QueryError, match="one series"):
        scalar(two)


def test_too_little_traffic_waits_however_bad_the_numbers():
    result = judge(Thresholds(min_requests=100), answers(40, 0.9, 5.0))
    assert result.verdict == WAIT
    assert result.reason == "TooFewRequests"
    assert "40 requests" in result.message
    assert "minRequests 100" in result.message


def test_no_traffic_at_all_waits():
    empty = {"requests": EMPTY, "errorRate": EMPTY, "p95Latency": EMPTY}
    assert judge(Thresholds(), empty).verdict == WAIT


def test_prometheus_errors_wait_rather_than_fail():
    broken = answers(500, 0.5, 1.0)
    broken["errorRate"] = {"status": "error", "errorType": "timeout", "error": "query timed out"}
    result = judge(Thresholds(), broken)
    assert result.verdict == WAIT
    assert result.reason == "MetricsUnavailable"
    assert "timed out" in result.message


def test_within_absolute_thresholds_passes_with_the_numbers():
    result = judge(
        Thresholds(max_error_rate=0.01, max_p95_latency_ms=200), answers(500, 0.002, 0.12)
    )
    assert result.verdict == PASSED
    assert result.requests == 500
    assert result.error_rate == 0.002
    assert result.p95_latency_ms == pytest.approx(120)
    assert "500 requests" in result.message
    assert "0.20%" in result.message
    assert "120 ms" in result.message


def test_error_rate_over_the_limit_fails_and_says_by_how_much():
    result = judge(Thresholds(max_error_rate=0.01), answers(1000, 0.05, 0.1))
    assert result.verdict == FAILED
    assert result.reason == "ThresholdExceeded"
    assert "error rate 5.00% > 1.00%" in result.message


def test_p95_over_the_limit_fails():
    result = judge(Thresholds(max_p95_latency_ms=200), answers(1000, 0.0, 0.35))
    assert result.verdict == FAILED
    assert "p95 350 ms > 200 ms" in result.message


def test_no_5xx_series_counts_as_zero_errors():
    result = judge(Thresholds(), {**answers(500, 0, 0.1), "errorRate": EMPTY})
    assert result.verdict == PASSED


def test_disabled_checks_are_skipped():
    loose = Thresholds(max_error_rate=None, max_p95_latency_ms=None)
    assert judge(loose, answers(1000, 0.9, 9.0)).verdict == PASSED


def test_relative_error_rate_compares_with_stable():
    thresholds = Thresholds(max_error_rate=None, max_error_rate_ratio=2.0)
    worse = judge(thresholds, answers(1000, 0.05, 0.1, base=(5000, 0.02, 0.1)))
    assert worse.verdict == FAILED
    assert "2x stable's 2.00%" in worse.message
    assert worse.baseline_error_rate == 0.02
    alike = judge(thresholds, answers(1000, 0.03, 0.1, base=(5000, 0.02, 0.1)))
    assert alike.verdict == PASSED


def test_relative_error_rate_against_a_flawless_stable_uses_a_floor():
    thresholds = Thresholds(max_error_rate=None, max_error_rate_ratio=2.0)
    # 0.1 % against a stable at 0 %: within 2x the 0.1 % floor, not an infinite ratio.
    assert judge(thresholds, answers(1000, 0.001, 0.1, base=(5000, 0, 0.1))).verdict == PASSED
    assert judge(thresholds, answers(1000, 0.01, 0.1, base=(5000, 0, 0.1))).verdict == FAILED


def test_relative_latency_compares_with_stable():
    thresholds = Thresholds(max_p95_latency_ms=None, max_p95_latency_ratio=1.5)
    slow = judge(thresholds, answers(1000, 0, 0.4, base=(5000, 0, 0.1)))
    assert slow.verdict == FAILED
    assert "p95 400 ms > 1.5x stable's 100 ms" in slow.message
    assert judge(thresholds, answers(1000, 0, 0.14, base=(5000, 0, 0.1))).verdict == PASSED


def test_a_quiet_stable_is_no_yardstick():
    thresholds = Thresholds(max_error_rate=None, max_error_rate_ratio=1.1, min_requests=100)
    result = judge(thresholds, answers(1000, 0.05, 0.1, base=(10, 0.0, 0.1)))
    assert result.verdict == PASSED


def test_absolute_and_relative_breaches_are_all_listed():
    thresholds = Thresholds(max_error_rate=0.01, max_p95_latency_ms=200, max_p95_latency_ratio=2)
    result = judge(thresholds, answers(1000, 0.2, 0.5, base=(1000, 0.0, 0.1)))
    assert result.verdict == FAILED
    assert result.message.count(";") == 2


def test_thresholds_from_the_spec():
    parsed = Thresholds.from_spec(
        {"maxErrorRate": 0.02, "maxP95LatencyMs": 300, "minRequests": 50, "failureLimit": 2}
    )
    assert parsed == Thresholds(
        max_error_rate=0.02, max_p95_latency_ms=300.0, min_requests=50, failure_limit=2
    )
    assert Thresholds.from_spec(None) == Thresholds()
    assert Thresholds.from_spec({"maxErrorRateRatio": 1.5}).max_error_rate_ratio == 1.5


def test_result_round_trips_through_status():
    result = judge(Thresholds(), answers(500, 0.002, 0.12, base=(900, 0.001, 0.1)))
    status = result.to_status()
    assert status["verdict"] == "Pass"
    assert status["requests"] == 500
    assert status["p95LatencyMs"] == pytest.approx(120)
    assert AnalysisResult.from_status(status) == result


# The queries evaluated by Prometheus's own engine (promtool, from Debian's `prometheus`
# package, which the Prometheus-backed tests need anyway) over synthetic series.

CANARY = 'service="auth",version="1.1.0",method="GET"'
STABLE = 'service="auth",version="1.0.0",method="GET"'


def _series(labels, route, per_scrape, status_class=None, le=None):
    extra = f',status_class="{status_class}"' if status_class else f',le="{le}"'
    name = "http_requests_total" if status_class else "http_request_duration_seconds_bucket"
    return {"series": f'{name}{{{labels},route="{route}"{extra}}}', "values": f"0+{per_scrape}x40"}


def _promtool(series, expectations):
    """Evaluate each (expr, value or None for no data) at 5m over 15 s scrapes."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: apt-get install prometheus (it ships promtool)"
    cases = [
        {
            # Rounded: promtool compares floats exactly (0.15 comes out as 0.15000000000000002).
            "expr": f"round({expr}, 0.000001)",
            "eval_time": "5m",
            "exp_samples": [] if value is None else [{"labels": "{}", "value": value}],
        }
        for expr, value in expectations
    ]
    doc = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{"interval": "15s", "input_series": series, "promql_expr_test": cases}],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "queries.yml"
        path.write_text(json.dumps(doc))
        done = subprocess.run(
            [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_computes_what_the_queries_mean():
    route = "/api/v1/auth/me"
    series = [
        # Canary: 38 good and 2 failed requests per 15 s scrape, 90 % under 100 ms.
        _series(CANARY, route, 38, status_class="2xx"),
        _series(CANARY, route, 2, status_class="5xx"),
        _series(CANARY, route, 36, le="0.1"),
        _series(CANARY, route, 40, le="0.2"),
        _series(CANARY, route, 40, le="+Inf"),
        # Probes, failing ones included, which must not count.
        _series(CANARY, "/health", 100, status_class="2xx"),
        _series(CANARY, "/ready", 100, status_class="5xx"),
        # Stable: 20 requests per scrape, never a 5xx.
        _series(STABLE, route, 20, status_class="2xx"),
        _series(STABLE, route, 20, le="0.1"),
        _series(STABLE, route, 20, le="+Inf"),
    ]
    queries = analysis_queries(Target("auth", "1.1.0", baseline_version="1.0.0"), "2m")
    quiet = analysis_queries(Target("auth", "9.9.9"), "2m")
    _promtool(
        series,
        [
            (queries["requests"], 320),  # 40 per 15 s over 2 minutes
            (queries["errorRate"], 0.05),
            # Rank 95 % of 40 = 38 lies halfway through the 0.1..0.2 bucket.
            (queries["p95Latency"], 0.15),
            (queries["baselineRequests"], 160),
            (queries["baselineErrorRate"], 0),  # no 5xx series at all: 0, not "no data"
            (queries["baselineP95Latency"], 0.095),
            (quiet["requests"], None),
            (quiet["errorRate"], None),
        ],
    )
