"""Push targets must be public addresses (no servers: IP literals resolve locally)."""

from __future__ import annotations

import pytest
from notifications_service.push import PushFailed, refuse_private


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]:8443/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.1.1/",
        "https://[fd00::1]/",
    ],
)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(PushFailed, match="non-public address"):
        refuse_private(url)


def test_a_public_address_passes() -> None:
    refuse_private("https://93.184.215.14/hook")
    refuse_private("https://[2606:4700::1111]/hook")
