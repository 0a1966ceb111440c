"""From RabbitMQ into each recipient's Redis stream, once per event whichever replica is first.

Every replica consumes its own queue (all events), and for each event runs one Lua script that
claims the event id and appends it to every recipient's stream, then rings the doorbell. The
claim makes the append happen once; since each replica handles its queue in order and the
first to claim event k+1 has already handled k, streams keep publish order. The message is
acked only after the script ran, so a replica killed mid-way loses nothing: its own queue
(durable) redelivers, and the other replicas have their copies anyway.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from messaging_kit.events.broker_worker import BrokerWorker
from messaging_kit.events.envelope import Event
from pika.adapters.blocking_connection import BlockingChannel

from websocket_service.keys import RedisKeys

# Events delivered to clients: every event whose data carries `recipient_ids`.
ROUTING_KEYS = ["message.*", "group.#"]

# ARGV: dedupe TTL, stream max length, stream key prefix, stream TTL, sender (or ''), then
# (user, frame) pairs. A sender's entries in others' streams are noted in KEYS[3] as
# "<user> <entry id>", so erasing the sender finds them without reading every stream.
APPEND_ONCE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local users = {}
for i = 6, #ARGV, 2 do
  local stream = ARGV[3] .. ARGV[i]
  local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[i + 1])
  redis.call('EXPIRE', stream, ARGV[4])
  if ARGV[5] ~= '' and ARGV[5] ~= ARGV[i] then
    redis.call('SADD', KEYS[3], ARGV[i] .. ' ' .. id)
  end
  users[#users + 1] = ARGV[i]
end
if ARGV[5] ~= '' then redis.call('EXPIRE', KEYS[3], ARGV[4]) end
if #users > 0 then redis.call('PUBLISH', KEYS[2], table.concat(users, ',')) end
return #users
"""


def frame_for(event: Event, user_id: str) -> str:
    """The event as one user receives it: only the message key wrapped for them."""
    data = {k: v for k, v in event.data.items() if k not in ("keys", "recipient_ids")}
    keys = event.data.get("keys")
    if isinstance(keys, dict):
        data["wrapped_key"] = keys.get(user_id)
    return json.dumps(
        {"id": event.id, "type": event.type, "occurred_at": event.occurred_at, "data": data},
        separators=(",", ":"),
    )


def recipients(event: Event) -> list[str]:
    ids = event.data.get("recipient_ids")
    if not isinstance(ids, list):
        return []
    return [str(i) for i in ids if isinstance(i, str) and 0 < len(i) <= 64]


class StreamWriter:
    """Appends events to user streams and keeps group member sets for typing."""

    def __init__(self, client: redis.Redis, keys: RedisKeys, settings: Any) -> None:
        self.client = client
        self.keys = keys
        self.settings = settings
        self.script = client.register_script(APPEND_ONCE)

    def write(self, event: Event) -> int:
        self.track_groups(event)
        sender = event.data.get("sender_id")
        sender = sender if isinstance(sender, str) and 0 < len(sender) <= 64 else ""
        args: list[Any] = [
            self.settings.dedupe_ttl_seconds,
            self.settings.stream_max_entries,
            self.keys.stream_prefix,
            self.settings.stream_ttl_seconds,
            sender,
        ]
        for user in recipients(event):
            args += [user, frame_for(event, user)]
        written: int = self.script(
            keys=[self.keys.seen(event.id), self.keys.doorbell, self.keys.sent(sender or "-")],
            args=args,
        )
        return written

    def track_groups(self, event: Event) -> None:
        group = event.data.get("group_id")
        if not isinstance(group, str) or not event.type.startswith("group."):
            return
        key = self.keys.group_members(group)
        if event.type == "group.member.removed":
            self.client.srem(key, str(event.data.get("user_id")))
        elif event.type == "group.deleted":
            self.client.delete(key)
        elif event.type in ("group.created", "group.member.added"):
            members = event.data.get("member_ids") or [event.data.get("user_id")]
            self.client.sadd(key, *[str(m) for m in members if m])


class EventIngest(BrokerWorker):
    """One consumer thread per replica; reconnects to RabbitMQ and Redis with backoff."""

    thread_name = "ws-ingest"
    # Redis down: the channel closes and the unacked events are redelivered.
    retry_errors = (redis.RedisError,)

    def __init__(self, writer: StreamWriter, amqp_url: str, exchange: str, settings: Any) -> None:
        super().__init__(amqp_url)
        self.writer = writer
        self.exchange = exchange
        self.queue = f"{settings.events_queue_prefix}.{settings.replica_id}"
        self.queue_expires_ms = int(settings.queue_expires_seconds * 1000)

    def retrying(self, error: BaseException) -> str:
        return "ingest interrupted, reconnecting"

    def bind(self, channel: BlockingChannel) -> None:
        channel.basic_qos(prefetch_count=200)
        channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)
        channel.queue_declare(
            queue=self.queue, durable=True, arguments={"x-expires": self.queue_expires_ms}
        )
        for key in ROUTING_KEYS:
            channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key=key)

    def handle(self, channel: BlockingChannel, event: Event) -> None:
        # A Redis error propagates: the channel closes, the message is redelivered. (A poison
        # body is dropped by the kit: parking it would only fill a queue nobody reads.)
        self.writer.write(event)
