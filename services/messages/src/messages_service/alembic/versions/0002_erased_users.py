"""erased_users: tombstones of erased users (messaging_kit.tombstones), an expand step

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from messaging_kit.events import event_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    event_tables(sa.MetaData()).erased_users.create(op.get_bind())


def downgrade() -> None:
    op.drop_table("erased_users")
