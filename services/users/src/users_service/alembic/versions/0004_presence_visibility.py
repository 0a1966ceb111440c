"""profiles.presence_visibility: who sees a user online and their last seen (expand step)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing users get the private default too: nobody opted into being watched.
    op.add_column(
        "profiles",
        sa.Column("presence_visibility", sa.String(20), nullable=False, server_default="contacts"),
    )


def downgrade() -> None:
    op.drop_column("profiles", "presence_visibility")
