"""What an upload really is, decided from its first bytes, never from the client's word."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import filetype
from PIL import Image, UnidentifiedImageError

# filetype reads at most this many bytes from the start of a file.
HEAD_BYTES = 8192
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# The Pillow decoders we let near uploaded bytes; anything else is not thumbnailed.
PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")


def sniff_type(head: bytes) -> str | None:
    """The MIME type the magic numbers say, or None when they say nothing we know."""
    kind = filetype.guess(head)
    return None if kind is None else str(kind.mime)


@dataclass(frozen=True)
class ImageSize:
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def image_size(head: bytes) -> ImageSize | None:
    """Width and height from the image header alone (no pixel is decoded), or None when the
    header is not within head. A claimed size past Pillow's own limit is returned too, so the
    caller refuses it by its setting rather than by a Pillow exception."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(head), formats=PILLOW_FORMATS) as image:
                return ImageSize(*image.size)
    except Image.DecompressionBombError as error:
        return _size_from_bomb_error(error)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def _size_from_bomb_error(error: Exception) -> ImageSize:
    # Pillow refuses past 2 x MAX_IMAGE_PIXELS before we can read the size: any such image is
    # far past our own limit too, so its exact size does not matter.
    limit = Image.MAX_IMAGE_PIXELS or 0
    return ImageSize(2 * limit + 1, 1)
