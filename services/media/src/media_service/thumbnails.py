"""Thumbnails, made by media's own worker from `media.uploaded` events, never in a request.

Decompression bombs: the pixel count is checked from the header before any pixel is
decoded, Pillow's own bomb warning is an error, and JPEGs are decoded at reduced size.
"""

from __future__ import annotations

import io
import logging
import uuid
import warnings
from collections.abc import Callable
from typing import IO

from messaging_kit.events import Event
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from media_service.core.sniffing import IMAGE_TYPES, PILLOW_FORMATS
from media_service.core.storage import ObjectStore, original_key, thumbnail_key
from media_service.models import Attachment, ThumbnailStatus

log = logging.getLogger(__name__)
THUMBNAIL_TYPE = "image/webp"


class ImageRefused(Exception):  # noqa: N818 - reads better at call sites
    """The image will never make a thumbnail (a bomb, too many pixels, not decodable)."""


def make_thumbnail(source: IO[bytes], *, max_pixels: int, size: int) -> bytes:
    """A WebP at most size x size, from the first frame, turned upright per its EXIF."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=PILLOW_FORMATS) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageRefused(f"{width}x{height} is over {max_pixels} pixels")
                image.draft("RGB", (size, size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
                image.seek(0)
                frame = ImageOps.exif_transpose(image)
                frame.thumbnail((size, size))
                if frame.mode not in ("RGB", "RGBA"):
                    frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
                out = io.BytesIO()
                frame.save(out, "WEBP", quality=80)
                return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRefused(f"decompression bomb: {error}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageRefused(f"not a decodable image: {error}") from None


def thumbnail_handler(
    store: ObjectStore, *, max_pixels: int, size: int
) -> Callable[[Session, Event], None]:
    """The consumer's handler for media.uploaded: object store errors raise (retried, then
    dead-lettered); an image that can never be thumbnailed is recorded as refused."""

    def handle(session: Session, event: Event) -> None:
        media_id = uuid.UUID(str(event.data["media_id"]))
        attachment = session.get(Attachment, media_id, with_for_update=True)
        if attachment is None or attachment.content_type not in IMAGE_TYPES:
            return  # deleted meanwhile, or nothing to draw
        if attachment.thumbnail_status == ThumbnailStatus.READY:
            return
        if not store.exists(original_key(media_id)):
            return  # the blob is gone (orphan cleanup will drop the row): nothing to draw
        try:
            with store.download(original_key(media_id)) as original:
                data = make_thumbnail(original, max_pixels=max_pixels, size=size)
        except ImageRefused as error:
            log.warning("no thumbnail", extra={"media_id": str(media_id), "reason": str(error)})
            attachment.thumbnail_status = ThumbnailStatus.REFUSED
            attachment.thumbnail_error = str(error)[:500]
            return
        store.put_bytes(thumbnail_key(media_id), data, THUMBNAIL_TYPE)
        attachment.thumbnail_status = ThumbnailStatus.READY
        attachment.thumbnail_error = None
        log.info("thumbnail made", extra={"media_id": str(media_id), "bytes": len(data)})

    return handle
