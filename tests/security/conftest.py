"""The security suite's platform fixture (helpers in security/stack.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from auth_service.core.config import Settings as AuthSettings
from auth_service.core.keys import generate_ed25519_pem
from auth_service.main import create_app as create_auth_app
from groups_service.core.config import Settings as GroupsSettings
from groups_service.main import create_app as create_groups_app
from media_service.core.config import Settings as MediaSettings
from media_service.main import create_app as create_media_app
from messages_service.core.config import Settings as MessagesSettings
from messages_service.main import create_app as create_messages_app
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import (
    SERVICE_TOKEN,
    LiveServer,
    delete_broker_objects,
    free_port,
    fresh_database,
    require_rabbitmq,
    require_redis,
    wait_for,
)
from notifications_service.core.config import Settings as NotificationsSettings
from notifications_service.main import create_app as create_notifications_app
from users_service.core.config import Settings as UsersSettings
from users_service.main import create_app as create_users_app
from websocket_service.core.config import Settings as WebsocketSettings
from websocket_service.main import create_app as create_websocket_app

from security.stack import SMTP_HOST, SMTP_PORT, Platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    run = uuid.uuid4().hex[:8]
    exchange, prefix = f"test.events.{run}", f"test-sec-{run}:"
    queues = [
        f"test.sec.{name}.{run}"
        for name in ("auth", "users", "messages", "groups", "media", "media-members")
    ]
    keys: Path = tmp_path_factory.mktemp("keys")
    (keys / "k1.pem").write_bytes(generate_ed25519_pem())
    common = {"amqp_url": amqp_url, "events_exchange": exchange, "internal_token": SERVICE_TOKEN}
    with (
        fresh_database("auth") as auth_db,
        fresh_database("users") as users_db,
        fresh_database("messages") as messages_db,
        fresh_database("groups") as groups_db,
        fresh_database("media") as media_db,
        fresh_database("notifications") as notifications_db,
    ):
        for package, url in (
            ("auth_service", auth_db),
            ("users_service", users_db),
            ("messages_service", messages_db),
            ("groups_service", groups_db),
            ("media_service", media_db),
            ("notifications_service", notifications_db),
        ):
            upgrade_head(package, url)
        auth_app = create_auth_app(
            AuthSettings(
                database_url=auth_db,
                redis_url=redis_url,
                signing_keys_dir=str(keys),
                redis_key_prefix=f"{prefix}auth",
                events_queue=queues[0],
                argon2_time_cost=1,
                argon2_memory_kib=1024,
                argon2_parallelism=1,
                login_max_failures_per_account=5,
                login_max_failures_per_address=50,
                **common,
            )
        )
        with LiveServer(auth_app) as auth:
            jwks = {"jwks_url": f"{auth.url}/.well-known/jwks.json", **common}
            media_port = free_port()  # users asks media who owns an avatar's media
            users_app = create_users_app(
                UsersSettings(
                    database_url=users_db,
                    events_queue=queues[1],
                    media_url=f"http://127.0.0.1:{media_port}",
                    **jwks,
                )
            )
            with LiveServer(users_app) as users:
                judges = {"blocks_url": f"{users.url}/internal/v1/blocks", **jwks}
                apps = {
                    "auth": auth_app,
                    "users": users_app,
                    "messages": create_messages_app(
                        MessagesSettings(database_url=messages_db, events_queue=queues[2], **jwks)
                    ),
                    "groups": create_groups_app(
                        GroupsSettings(
                            database_url=groups_db,
                            events_queue=queues[3],
                            contacts_url=f"{users.url}/internal/v1/contacts/accepting",
                            **judges,
                        )
                    ),
                    # Its block check runs before a byte of an upload is read or stored, so
                    # these tests need no object store (one bucket name, made if MinIO runs).
                    "media": create_media_app(
                        MediaSettings(
                            database_url=media_db,
                            events_queue=queues[4],
                            memberships_queue=queues[5],
                            s3_endpoint_url=os.environ.get(
                                "MP_S3_ENDPOINT", "http://127.0.0.1:19000"
                            ),
                            s3_access_key=os.environ.get("MP_S3_ACCESS_KEY", "platform"),
                            s3_secret_key=os.environ.get("MP_S3_SECRET_KEY", "platform-secret"),
                            s3_bucket="tsec-media",
                            **judges,
                        )
                    ),
                    # Mails the real SMTP sink (unlock links, registration notices).
                    "notifications": create_notifications_app(
                        NotificationsSettings(
                            database_url=notifications_db,
                            redis_url=redis_url,
                            redis_key_prefix=f"{prefix}notifications:",
                            email_queue=f"test.sec.notifications.email.{run}",
                            push_queue=f"test.sec.notifications.push.{run}",
                            smtp_host=SMTP_HOST,
                            smtp_port=SMTP_PORT,
                            smtp_starttls="off",
                            mail_from="Messaging <no-reply@platform.test>",
                            **jwks,
                        )
                    ),
                    "websocket": create_websocket_app(
                        WebsocketSettings(
                            redis_url=redis_url,
                            redis_key_prefix=prefix,
                            replica_id="r0",
                            events_queue_prefix=f"test.sec.ws.{run}",
                            erasure_queue=f"test.sec.ws-erasure.{run}",
                            queue_expires_seconds=600,
                            heartbeat_seconds=5,
                            presence_audience_url=f"{users.url}/internal/v1/presence-audience",
                            **judges,
                        )
                    ),
                }
                with (
                    LiveServer(apps["messages"]) as messages,
                    LiveServer(apps["groups"]) as groups,
                    LiveServer(apps["websocket"]) as websocket,
                    LiveServer(apps["media"], port=media_port) as media,
                    LiveServer(apps["notifications"]),
                ):
                    wait_for(apps["notifications"].state.emails.connected.is_set)
                    for app in apps.values():
                        for feed_name in ("revocation_feed", "block_feed"):
                            feed = getattr(app.state, feed_name, None)
                            if feed is not None:
                                wait_for(
                                    lambda f=feed: (
                                        f.connected.is_set() and f.revocations.loaded.is_set()
                                    )
                                )
                    urls = {
                        "auth": auth.url,
                        "users": users.url,
                        "messages": messages.url,
                        "groups": groups.url,
                        "websocket": websocket.url,
                        "media": media.url,
                    }
                    yield Platform(urls=urls, apps=apps, redis_prefix=prefix)
        ws_queues = [
            f"test.sec.ws.{run}.r0",
            f"test.sec.ws-erasure.{run}",
            f"test.sec.notifications.email.{run}",
            f"test.sec.notifications.push.{run}",
        ]
        delete_broker_objects(
            amqp_url,
            exchanges=(exchange,),
            queues=tuple(q for name in [*queues, *ws_queues] for q in (name, f"{name}.dead")),
        )
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{prefix}*", count=1000):
            client.delete(key)
        client.close()
