from fastapi.testclient import TestClient
from messaging_kit.app import create_app


def test_health_names_the_service() -> None:
    client = TestClient(create_app("probe"))
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "probe"}
