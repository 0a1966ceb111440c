"""Backup and restore time of a messages database holding N messages (default 1,000,000).

Run from the repository root with the shared infrastructure up (`make infra-up`):
    uv run python services/messages/bench/bench_backup_restore.py [--messages 1000000]
The schema is the messages service's own (its alembic migrations); rows come from
generate_series with 128 bytes of hash output as ciphertext (incompressible, like the real
thing). Backup and restore are the kit's, as `messaging-messages backup` / `restore` run them:
pg_dump -Fc streamed into MinIO, pg_restore into a new database and a rename.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import psycopg2
from messaging_kit.backup import (
    PREVIOUS_SUFFIX,
    backup_name,
    libpq_env,
    restore_backup,
    take_backup,
    with_database,
)
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import fresh_database
from minio import Minio

FILL = """
INSERT INTO messages (id, conversation_id, sender_id, recipient_id, idempotency_key,
                      content_hash, ciphertext, nonce, keys, created_at)
SELECT gen_random_uuid(),
       ('00000000-0000-4000-8000-' || lpad(to_hex(n %% 5000), 12, '0'))::uuid,
       ('00000000-0000-4000-9000-' || lpad(to_hex(n %% 1000), 12, '0'))::uuid,
       ('00000000-0000-4000-a000-' || lpad(to_hex((n + 1) %% 1000), 12, '0'))::uuid,
       'key-' || n,
       encode(sha256(n::text::bytea), 'hex'),
       sha256(('a' || n)::bytea) || sha256(('b' || n)::bytea)
         || sha256(('c' || n)::bytea) || sha256(('d' || n)::bytea),
       substring(sha256(('n' || n)::bytea) from 1 for 12),
       jsonb_build_object('recipient', 'k' || n, 'sender', 'k' || (n + 1)),
       now() - (n || ' seconds')::interval
FROM generate_series(%s, %s) AS n
"""
BATCH = 250_000


def store() -> tuple[Minio, str]:
    endpoint = os.environ.get("MP_S3_ENDPOINT", "http://127.0.0.1:19000")
    parts = urlsplit(endpoint)
    client = Minio(
        parts.netloc,
        os.environ.get("MP_S3_ACCESS_KEY", "platform"),
        os.environ.get("MP_S3_SECRET_KEY", "platform-secret"),
        secure=parts.scheme == "https",
    )
    bucket = f"bench-backups-{uuid.uuid4().hex[:8]}"
    client.make_bucket(bucket)
    return client, bucket


def execute(url: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    with contextlib.closing(psycopg2.connect(url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    client, bucket = store()
    with fresh_database("bench_backup") as url:
        upgrade_head("messages_service", url)
        started = time.monotonic()
        for first in range(1, args.messages + 1, BATCH):
            execute(url, FILL, first, min(first + BATCH - 1, args.messages))
        execute(url, "VACUUM ANALYZE messages")
        filled = time.monotonic() - started
        size = execute(url, "SELECT pg_database_size(current_database())")[0][0]
        name = backup_name("messages", "bench", datetime.now(UTC))
        backup = take_backup(url, client, bucket, name)
        execute(url, "DELETE FROM messages WHERE seq > %s", args.messages // 2)
        restore = restore_backup(url, url, client, bucket, name)
        restored = execute(url, "SELECT count(*) FROM messages")[0][0]
        assert restored == args.messages, restored
        database = libpq_env(url)["PGDATABASE"]
        execute(
            with_database(url, "postgres"),
            f'DROP DATABASE IF EXISTS "{database}{PREVIOUS_SUFFIX}" WITH (FORCE)',
        )
    client.remove_object(bucket, name)
    client.remove_bucket(bucket)
    print(
        json.dumps(
            {
                "messages": args.messages,
                "fill_seconds": round(filled, 1),
                "database_mib": round(int(str(size)) / 2**20, 1),
                "dump_mib": round(backup.size / 2**20, 1),
                "backup_seconds": round(backup.seconds, 1),
                "restore_seconds": round(restore.seconds, 1),
                "restored_messages": restored,
            }
        )
    )


if __name__ == "__main__":
    main()
