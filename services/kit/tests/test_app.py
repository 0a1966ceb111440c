import io
import json
import logging

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from messaging_kit.app import create_app
from messaging_kit.logs import ACCESS_LOG, configure_logging
from messaging_kit.problems import Problem
from pydantic import BaseModel, Field

router = APIRouter(prefix="/api/v1/things")


class Thing(BaseModel):
    name: str = Field(min_length=2)
    size: int


@router.get("/{thing_id}")
def get_thing(thing_id: int) -> dict[str, int]:
    if thing_id == 0:
        raise Problem(404, "thing-not-found", "No such thing", f"thing {thing_id}")
    if thing_id == 13:
        raise RuntimeError("unlucky")
    return {"id": thing_id}


@router.post("")
def post_thing(thing: Thing) -> Thing:
    return thing


def failing_check() -> None:
    raise ConnectionError("db down")


def make_client(ready_ok: bool = True) -> TestClient:
    checks = {"database": (lambda: None) if ready_ok else failing_check}
    app = create_app("demo", "1.2.3", routers=[router], readiness=checks)
    return TestClient(app, raise_server_exceptions=False)


def test_the_stub_entry_point_still_works() -> None:
    response = TestClient(create_app("groups")).get("/health")
    assert response.status_code == 200
    assert response.json()["service"] == "groups"


def test_ready_reports_each_dependency() -> None:
    assert make_client(True).get("/ready").json()["checks"] == {"database": "ok"}
    response = make_client(False).get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["checks"]["database"].startswith("failing: ConnectionError")


def test_problem_json_has_a_stable_type() -> None:
    response = make_client().get("/api/v1/things/0")
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "urn:messaging:problem:thing-not-found"
    assert body["status"] == 404
    assert body["instance"] == "/api/v1/things/0"
    assert body["request_id"] == response.headers["x-request-id"]


def test_unrouted_paths_and_crashes_are_problems_too() -> None:
    client = make_client()
    missing = client.get("/nowhere")
    assert missing.json()["type"] == "urn:messaging:problem:not-found"
    crash = client.get("/api/v1/things/13")
    assert crash.status_code == 500
    assert crash.json()["type"] == "urn:messaging:problem:internal-error"
    assert "unlucky" not in crash.text


def test_validation_errors_name_the_field_and_why() -> None:
    response = make_client().post("/api/v1/things", json={"name": "x", "size": "big"})
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:messaging:problem:validation-error"
    fields = {error["field"]: error["reason"] for error in body["errors"]}
    assert "at least 2 characters" in fields["body.name"]
    assert "integer" in fields["body.size"]


def test_metrics_use_route_templates_and_status_classes() -> None:
    client = make_client()
    for thing_id in (1, 2, 3, 0):
        client.get(f"/api/v1/things/{thing_id}")
    client.get("/nowhere/at/all")
    text = client.get("/metrics").text
    assert (
        'http_requests_total{method="GET",route="/api/v1/things/{thing_id}",service="demo",'
        'status_class="2xx",version="1.2.3"} 3.0'
    ) in text
    assert 'route="/api/v1/things/{thing_id}",service="demo",status_class="4xx"' in text
    assert 'route="unmatched"' in text
    assert "/api/v1/things/1" not in text
    assert "http_request_duration_seconds_bucket" in text
    assert "process_resident_memory_bytes" in text


def test_request_id_is_echoed_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="messaging.request")
    response = make_client().get("/api/v1/things/5", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    records = [r for r in caplog.records if r.name == "messaging.request"]
    assert records
    assert records[-1].route == "/api/v1/things/{thing_id}"  # type: ignore[attr-defined]
    # A hostile id is replaced, never echoed.
    response = make_client().get("/api/v1/things/5", headers={"X-Request-ID": "a b\tc"})
    assert response.headers["x-request-id"] != "a b\tc"


def test_once_logging_is_configured_each_request_is_one_json_line() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("demo", "INFO", stream=stream)
        make_client().get("/api/v1/things/7", headers={"X-Request-ID": "req-7"})
        logging.getLogger("demo.other").warning("not a request")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        ACCESS_LOG.configure(None, "")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests = [line for line in lines if line["logger"] == "messaging.request"]
    assert len(requests) == 1
    line = requests[0]
    assert line["route"] == "/api/v1/things/{thing_id}"
    assert (line["method"], line["status"], line["request_id"]) == ("GET", 200, "req-7")
    assert (line["level"], line["message"], line["service"]) == ("INFO", "request", "demo")
    assert line["duration_ms"] >= 0
    # Same field names and time format as the formatter's lines, so one parser reads both.
    other = next(line for line in lines if line["logger"] == "demo.other")
    assert set(other) <= set(line)
    assert len(line["time"]) == len(other["time"])
