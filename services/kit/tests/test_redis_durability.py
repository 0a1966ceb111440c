"""The readiness check of services whose acknowledged state lives only in Redis, against a real
private Redis (hack/infra.sh's fast settings first: no append-only file)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from messaging_kit.redis_durability import RedisNotDurableError, durable_redis_check
from messaging_testing.private_stores import PrivateStores


@pytest.fixture
def fast_redis(tmp_path: Path) -> Iterator[redis.Redis]:
    stores = PrivateStores(tmp_path / "cache", fast=True)
    try:
        stores.up("redis")
        client = redis.Redis.from_url(stores.redis_url, socket_timeout=5)
        yield client
        client.close()
    finally:
        stores.down()


def test_a_redis_without_append_only_file_fails_the_check_until_it_keeps_one(
    fast_redis: redis.Redis,
) -> None:
    check = durable_redis_check(fast_redis, require_aof=True)
    with pytest.raises(RedisNotDurableError, match=r"appendonly no.*REDIS_REQUIRE_AOF=false"):
        check()
    durable_redis_check(fast_redis, require_aof=False)()  # told to accept it: ready

    fast_redis.config_set("appendonly", "yes")  # switched on live: Redis writes the file first
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = fast_redis.info("persistence")
        if info["aof_enabled"] == 1 and not info["aof_rewrite_in_progress"]:
            break
        time.sleep(0.05)
    check()
