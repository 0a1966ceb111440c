"""The block list (no servers): events, snapshots, both directions."""

from __future__ import annotations

import uuid

from messaging_kit.blocks import BlockList


def test_a_block_stands_between_both_and_an_unblock_lifts_it() -> None:
    blocks, a, b, c = BlockList(), *(str(uuid.uuid4()) for _ in range(3))
    blocks.apply("contact.blocked", {"owner_id": a, "contact_id": b})
    assert blocks.blocks(a, b)
    assert not blocks.blocks(b, a)
    assert blocks.between(a, b)
    assert blocks.between(b, a)
    assert not blocks.between(a, c)
    assert blocks.blocked_with(b, [a, c]) == {a}
    blocks.apply("contact.unblocked", {"owner_id": a, "contact_id": b})
    assert not blocks.between(a, b)
    blocks.apply("contact.blocked", {"owner_id": "", "contact_id": b})  # ignored, not a crash


def test_a_snapshot_replaces_everything_and_a_deletion_drops_the_user() -> None:
    blocks, a, b, c = BlockList(), *(str(uuid.uuid4()) for _ in range(3))
    blocks.apply("contact.blocked", {"owner_id": a, "contact_id": b})
    blocks.replace({"blocks": [[b, c], [c, a]]})
    assert blocks.loaded.is_set()
    assert not blocks.between(a, b)
    assert blocks.between(b, c)
    assert blocks.between(a, c)
    blocks.apply("user.deleted", {"user_id": c})
    assert not blocks.between(b, c)
    assert not blocks.between(a, c)
