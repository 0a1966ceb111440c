import base64

from messaging_operator.builders.secrets import build_secrets, decode


def _by_name(objs):
    return {o["metadata"]["name"]: o for o in objs}


def test_managed_platform_gets_every_credential(platform, generate):
    secrets = _by_name(build_secrets(platform, {}, generate))
    assert set(secrets) == {
        "chat-postgres-admin", "chat-redis", "chat-rabbitmq", "chat-objectstorage", "chat-jwt",
        "chat-internal", "chat-db-auth", "chat-db-users", "chat-db-messages", "chat-db-groups",
        "chat-db-media", "chat-db-notifications",
    }  # fmt: skip
    db = decode(secrets["chat-db-auth"]["data"])
    assert db["username"] == db["database"] == "auth"
    assert db["DATABASE_URL"] == (
        "postgresql://auth:generated-password@chat-postgres.team.svc:5432/auth"
    )
    assert decode(secrets["chat-jwt"]["data"])["private.pem"] == "generated-jwt-private-key"
    # The service credential every service gets as INTERNAL_TOKEN (internal endpoints).
    assert decode(secrets["chat-internal"]["data"])["token"] == "generated-password"
    for secret in secrets.values():
        assert secret["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_existing_values_are_never_regenerated(platform, generate):
    existing = {"chat-db-auth": {"password": "kept"}, "chat-jwt": {"private.pem": "old-key"}}
    secrets = _by_name(build_secrets(platform, existing, generate))
    assert decode(secrets["chat-db-auth"]["data"])["password"] == "kept"
    assert decode(secrets["chat-jwt"]["data"])["private.pem"] == "old-key"
    # Same input, same output: a re-apply of generated secrets changes nothing.
    again = _by_name(build_secrets(platform, existing, generate))
    assert again == secrets


def test_data_is_base64_so_live_objects_compare_equal(platform, generate):
    secret = _by_name(build_secrets(platform, {}, generate))["chat-redis"]
    assert "stringData" not in secret
    assert base64.b64decode(secret["data"]["password"]) == b"generated-password"


def test_external_postgres_waits_for_its_secret_then_points_there(make_platform, generate):
    platform = make_platform({"postgres": {"mode": "external", "secretRef": {"name": "pg"}}})
    names = _by_name(build_secrets(platform, {}, generate))
    assert "chat-postgres-admin" not in names
    assert not any(n.startswith("chat-db-") for n in names)
    external = {"host": "db.example.com", "port": "6432", "username": "a", "password": "b"}
    names = _by_name(build_secrets(platform, {}, generate, external))
    url = decode(names["chat-db-users"]["data"])["DATABASE_URL"]
    assert url == "postgresql://users:generated-password@db.example.com:6432/users"
