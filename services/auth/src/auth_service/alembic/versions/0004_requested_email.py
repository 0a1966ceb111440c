"""users.requested_email: the address as typed at registration, kept apart from `email` when
that address already had an account (auth_service.registration)

Expand only: a nullable column, safe beside versions 0001 to 0003.

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
    op.add_column("users", sa.Column("requested_email", sa.String(255), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "requested_email")
