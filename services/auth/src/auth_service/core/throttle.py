"""Login throttling in Redis: failed attempts counted per account and per client address."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class LoginThrottle:
    def __init__(
        self,
        client: redis.Redis,
        *,
        max_per_account: int,
        max_per_address: int,
        window_seconds: int,
        prefix: str = "auth:login-failures",
    ) -> None:
        self.client = client
        self.max_per_account = max_per_account
        self.max_per_address = max_per_address
        self.window_seconds = window_seconds
        self.prefix = prefix

    def _keys(self, login: str, address: str) -> tuple[str, str]:
        account = hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]
        return f"{self.prefix}:account:{account}", f"{self.prefix}:address:{address}"

    def check(self, login: str, address: str) -> Verdict:
        account_key, address_key = self._keys(login, address)
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in (account_key, address_key):
                pipe.get(key)
                pipe.ttl(key)
            account_count, account_ttl, address_count, address_ttl = pipe.execute()
        except redis.RedisError as error:
            # Redis down must not lock everyone out; /ready reports it meanwhile.
            log.warning("throttle unavailable, allowing login", extra={"error": repr(error)})
            return Verdict(allowed=True)
        waits = []
        if account_count is not None and int(account_count) >= self.max_per_account:
            waits.append(account_ttl)
        if address_count is not None and int(address_count) >= self.max_per_address:
            waits.append(address_ttl)
        if not waits:
            return Verdict(allowed=True)
        return Verdict(allowed=False, retry_after=max(1, *waits))

    def record_failure(self, login: str, address: str) -> None:
        account_key, address_key = self._keys(login, address)
        try:
            pipe = self.client.pipeline(transaction=True)
            for key in (account_key, address_key):
                pipe.incr(key)
                # The window starts at the first failure and is not extended by later ones.
                pipe.expire(key, self.window_seconds, nx=True)
            pipe.execute()
        except redis.RedisError as error:
            log.warning("throttle unavailable", extra={"error": repr(error)})

    def record_success(self, login: str, address: str) -> None:
        account_key, _ = self._keys(login, address)
        try:
            self.client.delete(account_key)
        except redis.RedisError as error:
            log.warning("throttle unavailable", extra={"error": repr(error)})
