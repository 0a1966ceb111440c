"""Login throttling in Redis: failed attempts counted per account (whatever identifier named it:
username and email are one account), per account and client address together, and per client
address, with an exponential back-off instead of a hard lock.

Why a lock cannot be turned against the owner:
- The tight limit (`max_per_account`, 5) counts one account's failures from one address: a
  guesser at their own address slows only themselves.
- The account-wide limit (`max_per_account_all_addresses`, 20) catches guessing spread over
  many addresses, but an address the account has logged in from before (remembered for 30
  days) is exempt from it: the owner, at home or on their phone, still gets in.
- Past a limit, the next attempt waits `2^(failures - limit)` seconds after the last failure
  (1, 2, 4, ... up to `max_backoff_seconds`), never the whole window: a wrong password typed
  once more costs seconds, not 15 minutes.
Counters expire `window_seconds` after their first failure; a success clears the account's.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

KNOWN_ADDRESS_SECONDS = 30 * 86400


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def backoff(failures: int, limit: int, cap: float) -> float:
    """Seconds to wait after the last failure once `failures` reached `limit`."""
    if failures < limit:
        return 0.0
    return float(min(cap, 2 ** min(failures - limit, 30)))


class LoginThrottle:
    def __init__(
        self,
        client: redis.Redis,
        *,
        max_per_account: int,
        max_per_address: int,
        window_seconds: int,
        max_per_account_all_addresses: int = 20,
        max_backoff_seconds: int = 900,
        prefix: str = "auth:login-failures",
    ) -> None:
        self.client = client
        self.max_per_account = max_per_account
        self.max_per_address = max_per_address
        self.max_per_account_all_addresses = max_per_account_all_addresses
        self.window_seconds = window_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.prefix = prefix

    @staticmethod
    def _digest(value: str) -> str:
        return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]

    def _keys(self, account: str, address: str) -> dict[str, str]:
        """Counter keys: account+address, account, address."""
        who, where = self._digest(account), self._digest(address)
        return {
            "pair": f"{self.prefix}:pair:{who}:{where}",
            "account": f"{self.prefix}:account:{who}",
            "address": f"{self.prefix}:address:{where}",
        }

    def _known_key(self, account: str) -> str:
        return f"{self.prefix}:known:{self._digest(account)}"

    def check(self, account: str, address: str) -> Verdict:
        """`account` is the account's id when the login names one, else the login as typed
        (normalised), so an unknown name throttles the same way as a known one."""
        keys = self._keys(account, address)
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in keys.values():
                pipe.hmget(key, "count", "last")
            pipe.sismember(self._known_key(account), self._digest(address))
            *counters, known = pipe.execute()
        except redis.RedisError as error:
            # Redis down must not lock everyone out; /ready reports it meanwhile.
            log.warning("throttle unavailable, allowing login", extra={"error": repr(error)})
            return Verdict(allowed=True)
        limits = {
            "pair": self.max_per_account,
            # An address this account logged in from before is exempt from the account-wide
            # limit: that limit must not keep the owner out.
            "account": None if known else self.max_per_account_all_addresses,
            "address": self.max_per_address,
        }
        now, wait = time.time(), 0.0
        for scope, (count, last) in zip(keys, counters, strict=True):
            limit = limits[scope]
            if limit is None or count is None or last is None:
                continue
            ready_at = float(last) + backoff(int(count), limit, self.max_backoff_seconds)
            wait = max(wait, ready_at - now)
        if wait <= 0:
            return Verdict(allowed=True)
        return Verdict(allowed=False, retry_after=max(1, math.ceil(wait)))

    def record_failure(self, account: str, address: str) -> int:
        """The account's failures from all addresses in this window, this one included."""
        keys = self._keys(account, address)
        try:
            pipe = self.client.pipeline(transaction=True)
            for key in keys.values():
                pipe.hincrby(key, "count", 1)
                pipe.hset(key, "last", repr(time.time()))
                # The window starts at the first failure and is not extended by later ones.
                pipe.expire(key, self.window_seconds, nx=True)
            results = pipe.execute()
        except redis.RedisError as error:
            log.warning("throttle unavailable", extra={"error": repr(error)})
            return 0
        return int(results[3 * list(keys).index("account")])

    def over_account_limit(self, failures: int) -> bool:
        return failures >= self.max_per_account_all_addresses

    def unlock(self, account: str, address: str) -> None:
        """The owner opened a mailed unlock link from `address` (auth_service.unlock): the
        account's counters go, and the address becomes a known one."""
        self.record_success(account, address)

    def record_success(self, account: str, address: str) -> None:
        keys = self._keys(account, address)
        known = self._known_key(account)
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(keys["pair"], keys["account"])
            pipe.sadd(known, self._digest(address))
            pipe.expire(known, KNOWN_ADDRESS_SECONDS)
            pipe.execute()
        except redis.RedisError as error:
            log.warning("throttle unavailable", extra={"error": repr(error)})
