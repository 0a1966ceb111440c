"""The object store (MinIO or any S3): originals under `originals/<id>`, thumbnails under
`thumbnails/<id>.webp`, so orphan cleanup can walk each prefix in id order."""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, BinaryIO
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

log = logging.getLogger(__name__)

ORIGINALS = "originals/"
THUMBNAILS = "thumbnails/"
THUMBNAIL_SUFFIX = ".webp"
# S3's smallest multipart part: an upload holds at most this much in memory at once.
PART_SIZE = 5 * 1024 * 1024
# Above this a downloaded blob spills from memory to a temporary file.
SPOOL_BYTES = 1024 * 1024


def original_key(media_id: uuid.UUID) -> str:
    return f"{ORIGINALS}{media_id}"


def thumbnail_key(media_id: uuid.UUID) -> str:
    return f"{THUMBNAILS}{media_id}{THUMBNAIL_SUFFIX}"


def _client(endpoint: str, access_key: str, secret_key: str, region: str) -> Minio:
    parts = urlsplit(endpoint)
    # The client's own default waits minutes on a dead store; a request should fail fast.
    http = urllib3.PoolManager(
        maxsize=20,
        timeout=urllib3.Timeout(connect=5, read=60),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    # A fixed region: presigning needs no round trip to ask the server for it.
    return Minio(
        parts.netloc,
        access_key=access_key,
        secret_key=secret_key,
        secure=parts.scheme == "https",
        region=region,
        http_client=http,
    )


@dataclass(frozen=True)
class StoredObject:
    key: str
    last_modified: datetime | None


class ObjectStore:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        region: str = "us-east-1",
        public_endpoint: str = "",
    ) -> None:
        self.bucket = bucket
        self.client = _client(endpoint, access_key, secret_key, region)
        self.public = _client(public_endpoint or endpoint, access_key, secret_key, region)

    def ensure_bucket(self) -> None:
        """Make the bucket if missing; also the readiness check, so a store that was down at
        start gets its bucket as soon as it answers."""
        if self.client.bucket_exists(self.bucket):
            return
        with contextlib.suppress(S3Error):  # another replica made it between the two calls
            self.client.make_bucket(self.bucket)
        if not self.client.bucket_exists(self.bucket):
            raise RuntimeError(f"bucket {self.bucket} does not exist and cannot be made")

    def try_ensure_bucket(self) -> None:
        """At start: a store that is down must not stop the service (readiness reports it)."""
        try:
            self.ensure_bucket()
        except Exception as error:
            log.warning("object store not ready at start", extra={"error": repr(error)})

    def put_stream(self, key: str, stream: BinaryIO, content_type: str) -> None:
        """Upload a stream of unknown length in 5 MiB parts, one at a time (the client holds
        a part and a copy of it: about 10 MiB per upload, whatever the file's size). An error
        in stream.read() aborts the multipart upload, so a refused upload leaves nothing."""
        self.client.put_object(
            self.bucket,
            key,
            stream,
            length=-1,
            part_size=PART_SIZE,
            content_type=content_type,
            num_parallel_uploads=1,  # parallel parts would each sit in memory at once
        )

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type)

    @contextlib.contextmanager
    def download(self, key: str) -> Iterator[IO[bytes]]:
        """The object in a spooled temporary file (seekable, as Pillow wants)."""
        response = self.client.get_object(self.bucket, key)
        try:
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
                for chunk in response.stream(64 * 1024):
                    spool.write(chunk)
                spool.seek(0)
                yield spool
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject"):
                return False
            raise
        return True

    def remove(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)  # removing a missing key is not an error

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Objects under prefix in key order (S3 lists lexicographically)."""
        for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
            if item.object_name is not None:
                yield StoredObject(item.object_name, item.last_modified)

    def presigned_get(
        self, key: str, seconds: int, *, filename: str | None = None, content_type: str = ""
    ) -> str:
        headers: dict[str, str | list[str] | tuple[str]] = {}
        if content_type:
            headers["response-content-type"] = content_type
        if filename is not None:
            headers["response-content-disposition"] = content_disposition(filename)
        return self.public.presigned_get_object(
            self.bucket, key, expires=timedelta(seconds=seconds), response_headers=headers
        )


def content_disposition(filename: str) -> str:
    """`attachment`, never inline: a download must not render in our origin's context."""
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
