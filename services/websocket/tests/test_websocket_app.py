from fastapi.testclient import TestClient
from websocket_service.main import app


def test_websocket_reports_health() -> None:
    response = TestClient(app).get("/health")
    assert response.status_code == 200
    assert response.json()["service"] == "websocket"
