"""Receiving an upload: the multipart body is parsed as it arrives and its file part flows to
the object store in parts, so a request never holds more than one part (5 MiB) in memory.

The first bytes are read before anything is stored: the type is sniffed from them and an
image's header is checked for size, so a refused file never reaches the store. The size limit
is counted as bytes arrive; past it the store's multipart upload is aborted.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

import anyio
import anyio.from_thread
from messaging_kit.problems import Problem
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from media_service.core.sniffing import HEAD_BYTES, IMAGE_TYPES, image_size, sniff_type
from media_service.core.storage import ObjectStore, original_key

FILE_FIELD = b"file"
# Multipart framing (boundaries, part headers) on top of the file itself.
FRAMING_ALLOWANCE = 64 * 1024


class UploadTooLarge(Exception):  # noqa: N818
    pass


class MultipartFile:
    """The `file` part of a multipart/form-data body, pulled from the request on demand."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: bytes, limit: int) -> None:
        self._chunks = chunks
        self.limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.filename: str | None = None
        self.found = False  # a file part has started
        self.complete = False  # ... and ended
        self._body_done = False
        self._body_bytes = 0
        self._in_file = False
        self._ready = bytearray()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field_data,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == FILE_FIELD and not self.found:
            self.found = self._in_file = True
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return  # other fields are not ours to read: metadata comes in the query
        piece = data[start:end]
        self.size += len(piece)
        if self.size > self.limit:
            raise UploadTooLarge
        self.sha256.update(piece)
        self._ready += piece

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self.complete = True

    async def read(self, size: int) -> bytes:
        """Up to size bytes of the file; b"" once it has ended."""
        while len(self._ready) < size and not self.complete and not self._body_done:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._body_done = True
                self._parser.finalize()
                break
            self._body_bytes += len(chunk)
            if self._body_bytes > self.limit + FRAMING_ALLOWANCE:
                raise UploadTooLarge  # other fields count too: no endless body
            self._parser.write(chunk)
        with memoryview(self._ready) as view:
            data = bytes(view[:size])  # the one copy
        del self._ready[:size]
        return data


class BlockingReader:
    """A file-like view for the object store client, which reads in a worker thread."""

    def __init__(self, source: MultipartFile, head: bytes) -> None:
        self.source = source
        self.head = head

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise ValueError("an upload is read in parts, never whole")
        if self.head:
            data, self.head = self.head[:size], self.head[size:]
            return data
        return anyio.from_thread.run(self.source.read, size)


@dataclass(frozen=True)
class ReceivedFile:
    media_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None


def clean_filename(raw: str | None) -> str:
    """The base name only, printable, at most 255 characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "upload"


def multipart_boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise Problem(
            415,
            "unsupported-media-type",
            "Upload as multipart/form-data",
            "send the file as the `file` field of a multipart/form-data body",
        )
    return options[b"boundary"]


def incomplete() -> Problem:
    return Problem(400, "incomplete-upload", "The upload ended before the file did")


def too_large(limit: int) -> Problem:
    return Problem(
        413, "upload-too-large", "File is too large", f"at most {limit} bytes", max_bytes=limit
    )


async def receive_upload(
    chunks: AsyncIterator[bytes],
    content_type: str,
    content_length: int | None,
    *,
    store: ObjectStore,
    max_bytes: int,
    allowed_types: list[str],
    max_image_pixels: int,
) -> ReceivedFile:
    """Check and store an upload's file part under a new id; raise a Problem if refused."""
    boundary = multipart_boundary(content_type)
    if content_length is not None and content_length > max_bytes + FRAMING_ALLOWANCE:
        raise too_large(max_bytes)
    source = MultipartFile(chunks, boundary, max_bytes)
    try:
        head = await source.read(HEAD_BYTES)
    except UploadTooLarge:
        raise too_large(max_bytes) from None
    except ClientDisconnect:
        raise incomplete() from None
    if not source.found:
        raise Problem(422, "no-file", "No file in the upload", "send a `file` field")
    sniffed = sniff_type(head)
    if sniffed is None or sniffed not in allowed_types:
        raise Problem(
            415,
            "type-not-allowed",
            "This kind of file is not accepted",
            f"the content is {sniffed or 'of an unknown type'}",
            detected_type=sniffed,
            allowed_types=allowed_types,
        )
    size = image_size(head) if sniffed in IMAGE_TYPES else None
    if size is not None and size.pixels > max_image_pixels:
        raise Problem(
            422,
            "image-too-large",
            "Image has too many pixels",
            f"at most {max_image_pixels} pixels",
            max_pixels=max_image_pixels,
        )
    media_id = uuid.uuid4()
    try:
        await anyio.to_thread.run_sync(
            store.put_stream, original_key(media_id), BlockingReader(source, head), sniffed
        )
    except UploadTooLarge:
        raise too_large(max_bytes) from None
    except ClientDisconnect:
        raise incomplete() from None
    if not source.complete:
        # The body ended inside the file part: a cut connection, not a file.
        await anyio.to_thread.run_sync(store.remove, original_key(media_id))
        raise incomplete()
    return ReceivedFile(
        media_id=media_id,
        filename=clean_filename(source.filename),
        content_type=sniffed,
        size_bytes=source.size,
        sha256=source.sha256.hexdigest(),
        width=size.width if size else None,
        height=size.height if size else None,
    )
