"""MinIO from `make infra-up` is real: an object put into a bucket is read back."""

import io
import uuid
from urllib.parse import urlsplit

import pytest
from minio import Minio

from tests.conftest import S3Settings

pytestmark = pytest.mark.infra


def test_s3_put_get(s3_settings: S3Settings) -> None:
    endpoint = urlsplit(s3_settings.endpoint)
    client = Minio(
        endpoint.netloc,
        access_key=s3_settings.access_key,
        secret_key=s3_settings.secret_key,
        secure=endpoint.scheme == "https",
    )
    bucket = f"infra-check-{uuid.uuid4().hex[:12]}"
    payload = b"hello object " + uuid.uuid4().bytes
    client.make_bucket(bucket)
    try:
        client.put_object(
            bucket, "dir/hello.bin", io.BytesIO(payload), len(payload), "application/octet-stream"
        )
        response = client.get_object(bucket, "dir/hello.bin")
        try:
            assert response.read() == payload
            assert response.headers["Content-Type"] == "application/octet-stream"
        finally:
            response.close()
            response.release_conn()
        assert [o.object_name for o in client.list_objects(bucket, recursive=True)] == [
            "dir/hello.bin"
        ]
    finally:
        for obj in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, obj.object_name)
        client.remove_bucket(bucket)
