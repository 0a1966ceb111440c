from fastapi.testclient import TestClient
from users_service.main import app


def test_users_reports_health() -> None:
    response = TestClient(app).get("/health")
    assert response.status_code == 200
    assert response.json()["service"] == "users"
