"""Redis from `make infra-up` is real: a value written is read back."""

import uuid

import pytest
import redis

pytestmark = pytest.mark.infra


def test_redis_round_trip(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    key = f"infra-check:{uuid.uuid4().hex}"
    try:
        assert client.set(key, "hello", ex=60)
        assert client.get(key) == b"hello"
        assert client.incr(f"{key}:n") == 1
    finally:
        client.delete(key, f"{key}:n")
        client.close()
