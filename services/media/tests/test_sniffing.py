"""Type and size from the first bytes; file names reduced to a safe base name (no servers)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from media_service.core.sniffing import ImageSize, image_size, sniff_type
from media_service.core.upload import clean_filename
from media_service.thumbnails import ImageRefused, make_thumbnail
from PIL import Image


def test_types_come_from_magic_numbers(make_png: Callable[..., bytes]) -> None:
    assert sniff_type(make_png()[:64]) == "image/png"
    assert sniff_type(b"%PDF-1.7\n" + bytes(100)) == "application/pdf"
    assert sniff_type(b"\x7fELF\x02\x01\x01" + bytes(100)) == "application/x-executable"
    assert sniff_type(b"MZ\x90\x00" + bytes(100)) == "application/x-msdownload"
    assert sniff_type(b"just some text") is None


def test_image_size_is_read_from_the_header_alone(
    make_png: Callable[..., bytes], make_bomb: Callable[..., bytes]
) -> None:
    assert image_size(make_png(300, 40)[:100]) == ImageSize(300, 40)
    bomb = make_bomb(20_000)
    assert image_size(bomb[:8192]).pixels > 100_000_000  # type: ignore[union-attr]
    assert image_size(b"\x89PNG\r\n\x1a\n") is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\cat.jpg", "cat.jpg"),
        ("bad\x00\r\nname.png", "badname.png"),
        ("", "upload"),
        (None, "upload"),
        ("x" * 300, "x" * 255),
    ],
)
def test_file_names_are_reduced_to_a_safe_base_name(raw: str | None, clean: str) -> None:
    assert clean_filename(raw) == clean


def test_thumbnail_is_a_small_webp(make_png: Callable[..., bytes]) -> None:
    data = make_thumbnail(io.BytesIO(make_png(640, 320)), max_pixels=1_000_000, size=64)
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.size == (64, 32)


@pytest.mark.parametrize("side", [3_000, 12_000, 20_000])
def test_bombs_and_oversized_images_make_no_thumbnail(
    side: int, make_bomb: Callable[..., bytes]
) -> None:
    # 9 Mpx is over our limit; 144 Mpx is past Pillow's warning; 400 Mpx past its error.
    with pytest.raises(ImageRefused, match=r"pixels|bomb"):
        make_thumbnail(io.BytesIO(make_bomb(side)), max_pixels=4_000_000, size=64)


def test_undecodable_bytes_make_no_thumbnail(make_png: Callable[..., bytes]) -> None:
    truncated = make_png()[:60]
    with pytest.raises(ImageRefused, match="not a decodable image"):
        make_thumbnail(io.BytesIO(truncated), max_pixels=4_000_000, size=64)
