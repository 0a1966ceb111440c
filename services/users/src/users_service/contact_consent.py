"""Who accepted whom as a contact: what groups asks before putting someone into a group
directly (someone who has not accepted the adder gets an invitation to answer instead)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from users_service.models import Contact

ACCEPTED = "accepted"


def accepting(session: Session, contact: uuid.UUID, owners: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `owners` whose own address book holds `contact` as accepted."""
    rows = session.scalars(
        select(Contact.owner_id).where(
            Contact.owner_id.in_(set(owners)),
            Contact.contact_id == contact,
            Contact.status == ACCEPTED,
        )
    )
    return set(rows)
