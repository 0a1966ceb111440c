"""The services' Redis clients, with their timeouts and retries stated in one place.

redis-py's own default retries a failed command 3 times with exponential backoff: on a Redis
that is down, every request stalls ~3 s before its error. Ours retries once, at once (enough
for a pooled connection a restarted Redis closed: the retry opens a new one), and gives a
connect up after CONNECT_TIMEOUT_SECONDS, so a dead Redis is a fast 503 the client retries
(messaging_kit.unavailable).
"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

CONNECT_TIMEOUT_SECONDS = 1.0
RETRIES = 1


def redis_client(url: str, *, socket_timeout: float = 2.0) -> redis.Redis:
    """A client for requests and consumers; socket_timeout bounds one command's wait."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), RETRIES),
    )
